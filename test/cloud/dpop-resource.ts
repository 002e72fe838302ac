// An MCP server (SDK 1.32, stateless, answering with SSE as Appwrite's does) that takes DPoP-bound access tokens only (RFC 9449 §7,
// SEP-1932): `Authorization: DPoP <token>` with a JWT from its issuer, for its resource, bound to
// a key (`cnf.jkt`), and a proof per request (checked by dpop-proof.ts: signature, htm, htu,
// iat ±5 min, ath, the token's key) that was never seen before and carries a nonce this server
// handed out (§9): HMAC(secret, minute), the current or the previous minute's. A missing or stale
// nonce gets `401 DPoP error="use_dpop_nonce"` with a DPoP-Nonce header; a bearer presentation of
// the token, or a proof by another key, gets a 401 it cannot retry its way out of.
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import express, { type NextFunction, type Request, type Response } from 'express';
import { verifyAccessToken, type ResourceBinding } from './bearer.js';
import { checkDpopProof, DpopProofError, PROOF_WINDOW_S } from './dpop-proof.js';
import { close, listen } from './http-server.js';
import { statelessHandler } from './mcp-server.js';
import { DEFAULT_MCP_SCOPES } from './scopes.js';

export const DPOP_MCP_PATH = '/mcp';
const NONCE_STEP_MS = 60_000;

/** What the server made of one request (for tests: which ones were refused, and why). */
export interface DpopRequestLog {
  method: string;
  scheme?: string;
  status: number;
  error?: string;
  description?: string;
  /** The key the accepted proof was signed with. */
  jkt?: string;
  /** The nonce the proof carried. */
  nonce?: string;
}

type AuthedRequest = Request & { auth?: AuthInfo };

export class DpopResourceServer {
  private readonly log: DpopRequestLog[] = [];
  private readonly seenJtis = new Map<string, number>();
  private nonceSecret = randomBytes(32);

  private constructor(private readonly server: Server, readonly port: number) {}

  static async reserve(): Promise<DpopResourceServer> {
    const server = createServer();
    return new DpopResourceServer(server, await listen(server));
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get url(): string {
    return `${this.origin}${DPOP_MCP_PATH}`;
  }

  serve(binding: Omit<ResourceBinding, 'prmUrl'>, o: { requireNonce: boolean }): void {
    this.server.on('request', this.app({ ...binding, prmUrl: `${this.origin}/.well-known/oauth-protected-resource${DPOP_MCP_PATH}` }, o.requireNonce));
  }

  requests(): DpopRequestLog[] {
    return [...this.log];
  }

  /** Every nonce handed out so far becomes stale (as after a restart, or its time running out). */
  rotateNonce(): void {
    this.nonceSecret = randomBytes(32);
  }

  stop(): Promise<void> {
    return close(this.server);
  }

  private nonce(step = Math.floor(Date.now() / NONCE_STEP_MS)): string {
    return createHmac('sha256', this.nonceSecret).update(`dpop-nonce:${step}`).digest('base64url');
  }

  private app(binding: ResourceBinding, requireNonce: boolean): express.Express {
    const app = express();
    app.get(`/.well-known/oauth-protected-resource${DPOP_MCP_PATH}`, (_req, res) => {
      res.json({
        resource: binding.resource,
        authorization_servers: [binding.issuer],
        scopes_supported: binding.scopes ?? DEFAULT_MCP_SCOPES,
        bearer_methods_supported: ['header'],
        // RFC 9449 §5.1 / RFC 9728 §2: what this resource takes.
        dpop_signing_alg_values_supported: ['ES256'],
        dpop_bound_access_tokens_required: true,
      });
    });
    app.all(DPOP_MCP_PATH, (req, res, next) => { this.guard(binding, requireNonce, req, res, next).catch(next); }, express.json(), statelessHandler);
    return app;
  }

  private async guard(binding: ResourceBinding, requireNonce: boolean, req: AuthedRequest, res: Response, next: NextFunction): Promise<void> {
    const entry: DpopRequestLog = { method: req.method, status: 200 };
    this.log.push(entry);
    const refuse = (error: string | undefined, description: string, nonce?: string) => {
      Object.assign(entry, { status: 401, error, description });
      if (nonce) res.set('dpop-nonce', nonce);
      const params = [error && `error="${error}"`, `error_description="${description.replace(/["\\]/g, "'")}"`, 'algs="ES256"', `scope="${(binding.scopes ?? DEFAULT_MCP_SCOPES).join(' ')}"`, `resource_metadata="${binding.prmUrl}"`];
      res.status(401).set('www-authenticate', `DPoP ${params.filter(Boolean).join(', ')}`).json({ error: error ?? 'unauthorized', error_description: description });
    };
    const [scheme, token, extra] = (req.headers.authorization ?? '').split(' ');
    entry.scheme = scheme || undefined;
    if (!scheme) return refuse(undefined, 'a DPoP-bound access token is required');
    if (scheme.toLowerCase() !== 'dpop' || !token || extra !== undefined) {
      return refuse('invalid_token', `this server takes DPoP-bound tokens only, sent as "Authorization: DPoP <token>" with a DPoP proof (not ${scheme})`);
    }
    let claims;
    try {
      claims = await verifyAccessToken(token, binding);
    } catch (err) {
      return refuse('invalid_token', (err as Error).message);
    }
    const jkt = (claims as { cnf?: { jkt?: unknown } }).cnf?.jkt;
    if (typeof jkt !== 'string') return refuse('invalid_token', 'the access token is not bound to a key (no cnf.jkt)');
    let proof;
    try {
      proof = await checkDpopProof(req.headers.dpop, { method: req.method, url: new URL(req.originalUrl, this.origin).href, accessToken: token, jkt });
    } catch (err) {
      if (err instanceof DpopProofError) return refuse(err.error, err.message);
      throw err;
    }
    entry.nonce = proof.nonce;
    const step = Math.floor(Date.now() / NONCE_STEP_MS);
    if (requireNonce && proof.nonce !== this.nonce(step) && proof.nonce !== this.nonce(step - 1)) {
      return refuse('use_dpop_nonce', proof.nonce === undefined ? 'this server requires a nonce in DPoP proofs' : 'the nonce in the DPoP proof is stale', this.nonce(step));
    }
    if (!this.firstUse(proof.jti, proof.iat)) return refuse('invalid_dpop_proof', 'this DPoP proof was used before');
    if (requireNonce && proof.nonce !== this.nonce(step)) res.set('dpop-nonce', this.nonce(step)); // the next one to use (§8.2)
    entry.jkt = proof.jkt;
    req.auth = {
      token,
      clientId: claims.client_id ?? '',
      scopes: (claims.scope ?? '').split(' ').filter(Boolean),
      expiresAt: claims.exp,
      resource: new URL(binding.resource),
      extra: { claims },
    };
    next();
  }

  /** Remembers `jti` for as long as its proof is acceptable (RFC 9449 §11.1); false when seen already. */
  private firstUse(jti: string, iat: number): boolean {
    const now = Date.now() / 1000;
    if (this.seenJtis.size > 1000) for (const [id, at] of this.seenJtis) if (now - at > PROOF_WINDOW_S * 2) this.seenJtis.delete(id);
    if (this.seenJtis.has(jti)) return false;
    this.seenJtis.set(jti, iat);
    return true;
  }
}
