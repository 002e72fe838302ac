// RFC 7009 revocation in front of oidc-provider's endpoint. oidc-provider refuses to revoke
// structured (JWT) access tokens (unsupported_token_type) because it never stores them; this
// handler revokes those in the TokenStore (or, with `tamper.betterAuthRevocation`, refuses them as
// better-auth does) and hands every other request on, body replayed.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { decodeJwt } from 'jose';
import type { Issuer } from './issuer.js';
import type { CloudStats } from './stats.js';
import type { Tamper } from './tamper.js';

const MAX_BODY = 64 * 1024;

/** better-auth's answer to a JWT access token (packages/oauth-provider/src/revoke.ts, revokeJwtAccessToken). */
const BETTER_AUTH_JWT_REFUSAL = { error: 'unsupported_token_type', error_description: 'JWT access tokens are self-contained and cannot be revoked server-side' };

export function revocationHandler(issuer: Issuer, stats: CloudStats, tamper: Tamper = {}) {
  const forward = issuer.provider.callback();
  return async (req: IncomingMessage, res: ServerResponse) => {
    stats.revocations++;
    const body = await readBody(req);
    const params = new URLSearchParams(body.toString('utf8'));
    const jti = jwtId(params.get('token'));
    if (!jti) {
      forward(replay(req, body, issuer.path), res);
      return;
    }
    const clientId = params.get('client_id');
    if (!clientId || !(await issuer.provider.Client.find(clientId))) {
      res.writeHead(401, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: 'invalid_client', error_description: 'client authentication failed' }));
      return;
    }
    if (tamper.betterAuthRevocation) {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify(BETTER_AUTH_JWT_REFUSAL));
      return;
    }
    issuer.tokens.revokeJwtAccessToken(jti, clientId);
    res.writeHead(200).end();
  };
}

function jwtId(token: string | null): string | undefined {
  if (!token || token.split('.').length !== 3) return undefined;
  try {
    return decodeJwt(token).jti;
  } catch {
    return undefined;
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new Error('revocation request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * A fresh, unread copy of a request whose body was consumed, addressed as the provider mounted
 * at `mountPath` expects (url relative to the mount, originalUrl absolute). A plain Readable, not
 * an IncomingMessage: destroying one of those would take the shared socket down with it.
 */
function replay(req: IncomingMessage, body: Buffer, mountPath: string): IncomingMessage {
  const copy = new Readable({ read() {} });
  copy.push(body);
  copy.push(null);
  const url = req.url ?? '/';
  return Object.assign(copy, {
    socket: req.socket,
    method: req.method,
    url: url.startsWith(mountPath) ? url.slice(mountPath.length) : url,
    originalUrl: url,
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    httpVersion: req.httpVersion,
  }) as unknown as IncomingMessage;
}
