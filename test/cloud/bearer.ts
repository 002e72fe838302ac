// Bearer token checks of the MCP resource server (RFC 6750 + RFC 9728 challenges): a JWT from the
// layout's issuer, for this resource (audience binding), unexpired and not revoked.
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { jwtVerify, type JWTVerifyGetKey } from 'jose';
import { DEFAULT_MCP_SCOPES } from './scopes.js';

export interface ResourceBinding {
  resource: string;   // expected `aud`
  issuer: string;     // expected `iss`
  prmUrl: string;     // RFC 9728 metadata URL advertised in challenges
  scopes?: string[];  // advertised in the PRM and the challenges (default mcp:read mcp:write)
  keys: JWTVerifyGetKey;
  isRevoked(jti: string): boolean;
}

export interface AccessTokenClaims { sub: string; aud: string | string[]; scope: string; iss: string; client_id?: string; exp: number; jti?: string }

export type BearerCheck = { ok: true; auth: AuthInfo } | { ok: false; challenge: string; description: string };

export async function verifyAccessToken(token: string, binding: Omit<ResourceBinding, 'prmUrl'>): Promise<AccessTokenClaims> {
  const { payload } = await jwtVerify(token, binding.keys, {
    issuer: binding.issuer,
    audience: binding.resource,
    algorithms: ['RS256'],
    typ: 'at+jwt',
  });
  if (payload.jti && binding.isRevoked(payload.jti)) throw new Error('token has been revoked');
  return payload as unknown as AccessTokenClaims;
}

export async function checkBearer(authorization: string | undefined, binding: ResourceBinding): Promise<BearerCheck> {
  const match = /^Bearer ([^\s]+)$/i.exec(authorization ?? '');
  if (!match) {
    return { ok: false, challenge: challenge(binding, undefined, undefined, binding.scopes), description: 'no bearer token' };
  }
  try {
    const claims = await verifyAccessToken(match[1], binding);
    return {
      ok: true,
      auth: {
        token: match[1],
        clientId: claims.client_id ?? '',
        scopes: (claims.scope ?? '').split(' ').filter(Boolean),
        expiresAt: claims.exp,
        resource: new URL(binding.resource),
        extra: { claims },
      },
    };
  } catch (err) {
    const description = err instanceof Error ? err.message : String(err);
    return { ok: false, challenge: challenge(binding, 'invalid_token', description, binding.scopes), description };
  }
}

/** `WWW-Authenticate` value; without `error` when no token was sent (RFC 6750 §3.1). */
export function challenge(
  binding: Pick<ResourceBinding, 'prmUrl'>, error?: string, description?: string, scopes: string[] = DEFAULT_MCP_SCOPES,
): string {
  const params: string[] = [];
  if (error) params.push(`error="${error}"`);
  if (description) params.push(`error_description="${description.replace(/["\\]/g, "'")}"`);
  params.push(`scope="${scopes.join(' ')}"`, `resource_metadata="${binding.prmUrl}"`);
  return `Bearer ${params.join(', ')}`;
}
