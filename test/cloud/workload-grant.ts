// The JWT bearer grant (RFC 7523 §2.1) for workload identity federation (SEP-1933) on the local
// cloud's oidc-provider, which has no such grant of its own: the assertion's issuer must be on the
// allow-list, its keys are found by OpenID discovery of that issuer (then `jwks_uri`), its
// signature, `aud` (this AS: issuer or token endpoint), `exp` and `sub` are checked, and the
// subject must be a workload the AS lets in. The token is made as oidc-provider's client
// credentials grant makes one (client_credentials.js): resource indicator, scopes, DPoP binding
// (cnf.jkt, RFC 9449 §5) with the provider's own proof and nonce checks; its `sub` is the workload.
import { createRemoteJWKSet, decodeJwt, jwtVerify, type JWTVerifyGetKey } from 'jose';
import * as grants from 'oidc-provider/lib/helpers/grants.js';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { errors, type Provider } from './load-oidc-provider.js';

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export interface WorkloadTrust {
  /** Issuers whose workload tokens are taken (SEP-1933: an allow-list, keys by discovery). */
  issuers: string[];
  /** The workloads (`sub`) allowed to get tokens. */
  subjects: string[];
}

interface ClientCredentialsToken {
  resourceServer?: { scope: string };
  scope?: string;
  expiration: number;
  tokenType: string;
  setThumbprint(kind: 'jkt', value: string): void;
  save(): Promise<string>;
}

interface ProviderWithGrants {
  issuer: string;
  ClientCredentials: new (o: { client: unknown }) => ClientCredentialsToken;
  registerGrantType(name: string, handler: (ctx: KoaContextWithOIDC) => Promise<void>, params: Set<string>, dupes: Set<string>): void;
}

type OidcError = new (description: string) => Error;
const { InvalidGrant: OidcInvalidGrant, InvalidRequest, InvalidTarget } = errors as unknown as Record<'InvalidGrant' | 'InvalidRequest' | 'InvalidTarget', OidcError>;

/** invalid_grant saying why (oidc-provider's own keeps the reason to itself: "grant request is invalid"). */
class InvalidGrant extends OidcInvalidGrant {
  constructor(description: string) {
    super(description);
    Object.assign(this, { error_description: description });
  }
}

/** The workload each token was issued to (oidc-provider sets a token's `extra` from `extraTokenClaims`). */
const workloads = new WeakMap<object, { workload_iss: string; workload_sub: string }>();

/** For the `extraTokenClaims` configuration: a workload token's claims naming the workload. */
export function workloadClaims(token: object): Record<string, string> | undefined {
  return workloads.get(token);
}

/** For the jwt format customizer: the workload a token was issued to, which becomes its `sub`. */
export function workloadSubject(token: { extra?: Record<string, unknown> }): string | undefined {
  const sub = token.extra?.workload_sub;
  return typeof sub === 'string' ? sub : undefined;
}

export function registerJwtBearerGrant(provider: Provider, trust: WorkloadTrust): void {
  const p = provider as unknown as ProviderWithGrants & Provider;
  const keysByIssuer = new Map<string, Promise<JWTVerifyGetKey>>();
  const keysOf = (iss: string) => {
    let keys = keysByIssuer.get(iss);
    if (!keys) {
      keys = discoverKeys(iss);
      keys.catch(() => keysByIssuer.delete(iss));
      keysByIssuer.set(iss, keys);
    }
    return keys;
  };

  const handler = async (ctx: KoaContextWithOIDC) => {
    const client = (ctx.oidc as { client: { clientId: string } }).client;
    const dPoP = await grants.validateDpop(provider, ctx);
    const assertion = ctx.oidc?.params?.assertion;
    if (typeof assertion !== 'string' || !assertion) throw new InvalidRequest('missing required parameter: assertion');
    let iss: string | undefined;
    try {
      iss = decodeJwt(assertion).iss;
    } catch {
      throw new InvalidGrant('the assertion is not a JWT');
    }
    if (!iss || !trust.issuers.includes(iss)) throw new InvalidGrant('the assertion\'s issuer is not trusted');
    let sub: string;
    try {
      const { payload } = await jwtVerify(assertion, await keysOf(iss), {
        issuer: iss,
        audience: [p.issuer, `${p.issuer}/`, `${p.issuer}/token`],
        requiredClaims: ['exp', 'sub'],
        algorithms: ['ES256', 'RS256'],
      });
      sub = payload.sub!;
    } catch (err) {
      throw new InvalidGrant(`the assertion does not verify: ${(err as Error).message}`);
    }
    if (!trust.subjects.includes(sub)) throw new InvalidGrant(`workload ${sub} may not get tokens here`);

    const resources = await grants.resolveRequestedResources(provider, ctx);
    if (resources.length !== 1) throw new InvalidTarget('name the one resource (RFC 8707) the token is for');
    const scopes = [...grants.validateClientScope(provider, ctx)];
    const token = new p.ClientCredentials({ client });
    workloads.set(token, { workload_iss: iss, workload_sub: sub });
    token.resourceServer = resources[0]!;
    token.scope = scopes.filter((s) => resources[0]!.scope.split(' ').includes(s)).join(' ') || undefined;
    if (dPoP) {
      await grants.checkDpopReplay(provider, ctx, dPoP, client.clientId, InvalidGrant);
      token.setThumbprint('jkt', dPoP.thumbprint);
    }
    grants.checkDpopRequired(provider, ctx, dPoP);
    const value = await token.save();
    ctx.body = grants.buildTokenResponse(provider, { accessToken: value, expiresIn: token.expiration, scope: token.scope, tokenType: token.tokenType });
  };
  p.registerGrantType(JWT_BEARER, handler, new Set(['assertion', 'scope', 'resource']), new Set(['resource']));
}

/** SEP-1933 steps 2–7: the issuer's OpenID configuration, its `issuer` checked, then its JWKS. */
async function discoverKeys(iss: string): Promise<JWTVerifyGetKey> {
  const res = await fetch(`${iss.replace(/\/$/, '')}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`discovery of ${iss} answered HTTP ${res.status}`);
  const config = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
  if (config.issuer !== iss || typeof config.jwks_uri !== 'string') throw new Error(`the OpenID configuration of ${iss} does not match it`);
  return createRemoteJWKSet(new URL(config.jwks_uri));
}
