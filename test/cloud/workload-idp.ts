// A workload's identity provider (the part of Kubernetes, SPIFFE or a CI system that issues
// workload JWTs): OpenID discovery and a JWKS on 127.0.0.1, and `mint()` for the tokens a
// platform would project into the workload's file system. The authorization server finds its
// keys the way SEP-1933 says: `<iss>/.well-known/openid-configuration`, then `jwks_uri`.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { close, listen } from './http-server.js';

export interface MintOptions {
  sub?: string;
  /** Default: the authorization server the IdP was started for. */
  audience?: string | string[];
  /** Lifetime in seconds (default 600); negative: already expired. */
  ttlSeconds?: number;
}

export interface WorkloadIdp {
  issuer: string;
  /** The subject of the workload the authorization server trusts. */
  trustedSubject: string;
  mint(o?: MintOptions): Promise<string>;
  /** How many times the authorization server fetched the discovery document and the JWKS. */
  fetches(): { discovery: number; jwks: number };
  stop(): Promise<void>;
}

export const TRUSTED_WORKLOAD = 'system:serviceaccount:ci:deployer';

export async function startWorkloadIdp(audience: string): Promise<WorkloadIdp> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = `wif-${randomBytes(4).toString('hex')}`;
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const counts = { discovery: 0, jwks: 0 };
  const server = createServer((req, res) => {
    const json = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.url === '/.well-known/openid-configuration') {
      counts.discovery++;
      json({ issuer, jwks_uri: `${issuer}/jwks`, id_token_signing_alg_values_supported: ['ES256'], subject_types_supported: ['public'], response_types_supported: ['id_token'] });
    } else if (req.url === '/jwks') {
      counts.jwks++;
      json({ keys: [jwk] });
    } else {
      res.writeHead(404).end();
    }
  });
  const issuer = `http://127.0.0.1:${await listen(server)}`;
  return {
    issuer,
    trustedSubject: TRUSTED_WORKLOAD,
    mint: (o = {}) => new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setSubject(o.sub ?? TRUSTED_WORKLOAD)
      .setAudience(o.audience ?? audience)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + (o.ttlSeconds ?? 600))
      .setJti(randomBytes(12).toString('base64url'))
      .sign(privateKey),
    fetches: () => ({ ...counts }),
    stop: () => close(server),
  };
}
