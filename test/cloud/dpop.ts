// The DPoP corner of the local cloud (RFC 9449, SEP-1932; workload identity, SEP-1933): an
// oidc-provider authorization server that binds every token to the client's key and demands it
// (`dpop_bound_access_tokens` for every client, ES256 proofs, server nonces required, refresh
// tokens of public clients bound by oidc-provider itself), an MCP server that takes DPoP-bound
// tokens only (dpop-resource.ts), and a workload identity provider whose tokens the authorization
// server takes in the JWT bearer grant (workload-idp.ts, workload-grant.ts).
//
// Clients: any registered by DCR (public, code flow with PKCE, the login and consent pages of the
// rest of the cloud), a confidential one for the client credentials grant, and a public one for
// workloads. Started on its own (`startDpopCloud`), each server on its own 127.0.0.1 port.
import { randomBytes } from 'node:crypto';
import { createLocalJWKSet } from 'jose';
import { TEST_USER, type CloudUser } from './accounts.js';
import { AuthServer } from './auth-server.js';
import { DpopResourceServer, type DpopRequestLog } from './dpop-resource.js';
import { createIssuer } from './issuer.js';
import { zeroStats, type CloudStats } from './stats.js';
import { JWT_BEARER, registerJwtBearerGrant, workloadClaims, workloadSubject } from './workload-grant.js';
import { startWorkloadIdp, type WorkloadIdp } from './workload-idp.js';

export type { DpopRequestLog, WorkloadIdp };

export interface GrantError {
  grantType: string;
  error: string;
  detail?: string;
}

export interface DpopCloudOptions {
  /** The authorization server and the MCP server demand nonces (default true). */
  requireNonce?: boolean;
  /** Access token lifetime in seconds (default 3600). */
  accessTokenTtl?: number;
}

export interface DpopCloud {
  /** The MCP server (DPoP-bound tokens only). */
  mcpUrl: string;
  issuer: string;
  tokenEndpoint: string;
  user: CloudUser;
  /** A confidential client for the client credentials grant (client_secret_basic). */
  machineClient: { clientId: string; clientSecret: string };
  /** The public client workloads sign in as (JWT bearer grant only). */
  workloadClientId: string;
  /** The workload identity provider the authorization server trusts. */
  workloadIdp: WorkloadIdp;
  stats: CloudStats;
  /** Every refused token request, with oidc-provider's own reason (its answers say only "grant request is invalid"). */
  grantErrors(): GrantError[];
  /** What the MCP server made of each request. */
  mcpRequests(): DpopRequestLog[];
  /** Every nonce the MCP server handed out becomes stale. */
  rotateMcpNonce(): void;
  stop(): Promise<void>;
}

export async function startDpopCloud(o: DpopCloudOptions = {}): Promise<DpopCloud> {
  const requireNonce = o.requireNonce ?? true;
  const stats = zeroStats();
  const [auth, mcp] = await Promise.all([AuthServer.reserve(), DpopResourceServer.reserve()]);
  const issuerUrl = `${auth.origin}/v1/oauth2/dpop`;
  const idp = await startWorkloadIdp(issuerUrl);
  const machineClient = { clientId: 'dpop-machine', clientSecret: randomBytes(24).toString('base64url') };
  const workloadClientId = 'ci-workload';

  const issuer = await createIssuer({
    name: 'dpop',
    issuer: issuerUrl,
    resource: mcp.url,
    accessTokenTtl: o.accessTokenTtl ?? 3600,
    refreshTokenTtl: 14 * 24 * 3600,
    tamper: {},
    stats,
    configure: (config) => {
      config.features.dPoP = { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => requireNonce, allowReplay: false };
      config.features.clientCredentials = { enabled: true };
      config.ttl = { ...config.ttl, ClientCredentials: o.accessTokenTtl ?? 3600 };
      config.enabledJWA = { dPoPSigningAlgValues: ['ES256'] };
      // RFC 9449 §5.2: every client's token requests must carry a proof (DCR clients included).
      config.clientDefaults = { ...config.clientDefaults, dpop_bound_access_tokens: true };
      config.clients = [
        { client_id: machineClient.clientId, client_secret: machineClient.clientSecret, token_endpoint_auth_method: 'client_secret_basic', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
        { client_id: workloadClientId, token_endpoint_auth_method: 'none', grant_types: [JWT_BEARER], response_types: [], redirect_uris: [] },
      ];
      // A workload's access token names the workload as its subject (oidc-provider would name the client).
      config.extraTokenClaims = (_ctx: unknown, token: object) => workloadClaims(token);
      config.formats = {
        customizers: {
          jwt: (_ctx: unknown, token: { extra?: Record<string, unknown> }, jwt: { payload: Record<string, unknown> }) => {
            const sub = workloadSubject(token);
            if (sub) jwt.payload.sub = sub;
          },
        },
      };
    },
    extend: (provider) => registerJwtBearerGrant(provider, { issuers: [idp.issuer], subjects: [idp.trustedSubject] }),
  });
  const grantErrors: GrantError[] = [];
  issuer.provider.on('grant.error', (ctx: { oidc?: { params?: Record<string, unknown> } }, err: { error: string; error_detail?: string; error_description?: string }) => {
    grantErrors.push({ grantType: String(ctx.oidc?.params?.grant_type), error: err.error, detail: err.error_detail ?? err.error_description });
  });
  auth.serve([issuer], stats);
  mcp.serve({
    resource: issuer.resource,
    issuer: issuer.issuer,
    keys: createLocalJWKSet(issuer.publicJwks),
    isRevoked: (jti) => issuer.tokens.isJwtAccessTokenRevoked(jti),
  }, { requireNonce });

  return {
    mcpUrl: mcp.url,
    issuer: issuer.issuer,
    tokenEndpoint: `${issuer.issuer}/token`,
    user: { ...TEST_USER },
    machineClient,
    workloadClientId,
    workloadIdp: idp,
    stats,
    grantErrors: () => [...grantErrors],
    mcpRequests: () => mcp.requests(),
    rotateMcpNonce: () => mcp.rotateNonce(),
    stop: async () => { await Promise.all([auth.stop(), mcp.stop(), idp.stop()]); },
  };
}
