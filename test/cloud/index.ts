// The local cloud stand-in: a real OAuth 2.1 authorization server (oidc-provider) and real MCP
// resource servers, modelled on Appwrite's hosted MCP, on 127.0.0.1 with random ports: the 2025-era
// one (SDK 1.32: root and per-project layouts) and, on a port of their own, two built with the SDK v2
// (a 2026-07-28-only one and a dual-era one), each its own protected resource with its own issuer.
import { createLocalJWKSet, decodeJwt } from 'jose';
import type { CloudUser } from './accounts.js';
import { TEST_USER } from './accounts.js';
import { AuthServer } from './auth-server.js';
import { verifyAccessToken, type AccessTokenClaims, type ResourceBinding } from './bearer.js';
import type { ClientMetadataDocuments } from './client-metadata.js';
import { createIssuer, type Issuer } from './issuer.js';
import { LEGACY_SSE_PATH, McpResourceServer } from './mcp-server.js';
import { McpResourceServerV2, type SlowRun, type V2Request, type V2ServerName } from './mcp-server-v2.js';
import { PythonSdkAuthServer, type PythonSdkStats } from './python-sdk-as.js';
import { APPWRITE_SCOPES, DEFAULT_MCP_SCOPES, appwriteScopeModel, type ScopeModel } from './scopes.js';
import { zeroStats, type CloudStats, type DevicePoll } from './stats.js';
import type { Tamper } from './tamper.js';
import type { TokenStatus } from './token-store.js';

export type { DevicePoll };
export type { CloudUser, CloudStats, Tamper, TokenStatus, SlowRun, V2Request, V2ServerName, ClientMetadataDocuments, PythonSdkStats };
export { APPWRITE_SCOPES };

export interface CloudOptions {
  /** Access token lifetime in seconds (default 3600). */
  accessTokenTtl?: number;
  /** Refresh token lifetime in seconds (default 14 days). */
  refreshTokenTtl?: number;
  /** Project ids served in the per-project layout (default ['demo-project']). */
  projects?: string[];
  /** Deliberate misbehaviour for client negative tests (all off by default). */
  tamper?: Tamper;
  /**
   * Appwrite's scope model on the root layout (`/`, `/mcp`) and its console issuer: the MCP server
   * advertises a fine-grained catalog (APPWRITE_SCOPES: 73 scopes, ~1,470 characters) in its PRM and
   * 401 challenge; the AS refuses an authorization request whose `scope` is longer than
   * `scopeCap.maxLength` (default 1,000) as invalid_scope, by an error redirect or (`refusal: 'page'`)
   * its own 400 page, and takes the umbrella `all` (unless `umbrella: false`).
   */
  catalog?: 'appwrite';
  scopeCap?: { maxLength?: number; refusal?: 'redirect' | 'page' };
  umbrella?: boolean;
  /**
   * The console issuer accepts Client ID Metadata Document URLs as client ids and advertises
   * `client_id_metadata_document_supported` (fetched over https, trusting `ca`).
   */
  clientMetadataDocuments?: ClientMetadataDocuments;
  /**
   * The console issuer (root layout) offers the device authorization grant (RFC 8628; default on);
   * the project issuers never do. `deviceCodeTtl`: a device code's lifetime in seconds (default 600).
   */
  deviceFlow?: boolean;
  deviceCodeTtl?: number;
}

export interface Cloud {
  mcpUrl: string;
  projectMcpUrl(projectId: string): string;
  issuer: string;
  projectIssuer(projectId: string): string;
  user: CloudUser;
  stats: CloudStats;
  resetStats(): void;
  tokenStatus(token: string): Promise<TokenStatus>;
  verifyAccessToken(token: string): Promise<AccessTokenClaims>;
  stopAuthServer(): Promise<void>;
  startAuthServer(): Promise<void>;
  /** Restarts the 2025-era MCP server (connections and sessions dropped, same port). */
  restartMcpServer(): Promise<void>;
  /** Drops every 2025 session: the per-project layout's and the dual-era server's. */
  dropMcpSessions(): void;
  /** Headers of the last requests to the 2025-era server (not the v2 ones: see `v2McpRequests`). */
  lastMcpRequestHeaders(): Record<string, string | string[] | undefined>[];
  /** MCP server (SDK 1.32) that speaks only the HTTP+SSE transport of 2024-11-05: GET for the event stream, POST to the endpoint it names. */
  legacySseUrl: string;
  legacySseIssuer: string;
  /** MCP server built with the SDK v2 serving the 2026-07-28 revision only (stateless, no sessions). */
  modernMcpUrl: string;
  /** MCP server built with the SDK v2 serving 2025 sessions and 2026-07-28 requests on one URL. */
  dualMcpUrl: string;
  /** The issuers minting tokens for `modernMcpUrl` and `dualMcpUrl` (one resource each). */
  modernIssuer: string;
  dualIssuer: string;
  /** The last requests the v2 servers received: which server, HTTP method, headers, JSON-RPC methods. */
  v2McpRequests(): V2Request[];
  /** How the v2 servers' `slow` tool runs ended (`cancelled` when the client cancelled in time). */
  slowRuns(): SlowRun[];
  /** The console issuer's device code polls (RFC 8628 §3.4): when each arrived and what it was answered. */
  devicePolls(): DevicePoll[];
  /**
   * A stateful MCP server (the per-project layout) whose authorization server behaves like the MCP
   * Python SDK's (python-sdk-as.ts): secret-based client authentication only, `client_id` required
   * in the token request's body, Basic checked against it.
   */
  pythonSdkMcpUrl: string;
  pythonSdkIssuer: string;
  pythonSdk: PythonSdkStats;
  stop(): Promise<void>;
}

const ROOT_ISSUER_NAME = 'console';
const LEGACY_ISSUER_NAME = 'legacy';
const V2_ISSUER_NAMES: Record<V2ServerName, string> = { modern: 'modern', dual: 'dual' };
const PYTHON_SDK_PROJECT = 'python-sdk';
const RESERVED_PROJECT_IDS = [ROOT_ISSUER_NAME, LEGACY_ISSUER_NAME, PYTHON_SDK_PROJECT, 'mcp', ...Object.values(V2_ISSUER_NAMES)];
const PROJECT_ID = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

export async function startCloud(options: CloudOptions = {}): Promise<Cloud> {
  const projects = options.projects ?? ['demo-project'];
  for (const id of projects) {
    if (!PROJECT_ID.test(id) || RESERVED_PROJECT_IDS.includes(id)) throw new TypeError(`invalid project id "${id}"`);
  }
  const stats = zeroStats();
  const [auth, mcp, v2, python] = await Promise.all([
    AuthServer.reserve(), McpResourceServer.reserve(), McpResourceServerV2.reserve(),
    PythonSdkAuthServer.start({ scopes: DEFAULT_MCP_SCOPES, accessTokenTtl: options.accessTokenTtl ?? 3600 }),
  ]);
  const issuerUrl = (name: string) => `${auth.origin}/v1/oauth2/${name}`;
  const projectResource = (id: string) => `${mcp.origin}/${id}/mcp`;

  const rootScopes: ScopeModel | undefined = options.catalog === 'appwrite'
    ? appwriteScopeModel({ maxScopeLength: options.scopeCap?.maxLength, refusal: options.scopeCap?.refusal, umbrella: options.umbrella })
    : undefined;
  const issuerFor = (name: string, resource: string, root = false) => createIssuer({
    name,
    issuer: issuerUrl(name),
    resource,
    accessTokenTtl: options.accessTokenTtl ?? 3600,
    refreshTokenTtl: options.refreshTokenTtl ?? 14 * 24 * 3600,
    tamper: options.tamper ?? {},
    stats,
    ...(root ? { scopeModel: rootScopes, clientMetadataDocuments: options.clientMetadataDocuments, deviceFlow: options.deviceFlow ?? true, deviceCodeTtl: options.deviceCodeTtl } : {}),
  });
  const [root, legacy, modern, dual, ...projectIssuers] = await Promise.all([
    issuerFor(ROOT_ISSUER_NAME, `${mcp.origin}/`, true),
    issuerFor(LEGACY_ISSUER_NAME, `${mcp.origin}${LEGACY_SSE_PATH}`),
    issuerFor(V2_ISSUER_NAMES.modern, v2.url('modern')),
    issuerFor(V2_ISSUER_NAMES.dual, v2.url('dual')),
    ...projects.map((id) => issuerFor(id, projectResource(id))),
  ]);
  const allIssuers = [root, ...projectIssuers, legacy, modern, dual];
  const byIssuerUrl = new Map(allIssuers.map((i) => [i.issuer, i]));

  const bindingOf = (issuer: Issuer, prmUrl: string): ResourceBinding => ({
    resource: issuer.resource,
    issuer: issuer.issuer,
    prmUrl,
    ...(issuer === root && rootScopes ? { scopes: rootScopes.advertised } : {}),
    keys: createLocalJWKSet(issuer.publicJwks), // the keys published at the issuer's jwks_uri
    isRevoked: (jti) => issuer.tokens.isJwtAccessTokenRevoked(jti),
  });
  const prmBase = `${mcp.origin}/.well-known/oauth-protected-resource`;
  auth.serve(allIssuers, stats, options.tamper ?? {});
  const pythonBinding: ResourceBinding = {
    resource: projectResource(PYTHON_SDK_PROJECT), issuer: python.issuer, prmUrl: `${prmBase}/${PYTHON_SDK_PROJECT}/mcp`,
    keys: createLocalJWKSet({ keys: [python.publicJwk] }), isRevoked: () => false,
  };
  mcp.serve({
    root: bindingOf(root, prmBase),
    alias: bindingOf(root, `${prmBase}/mcp`),
    projects: new Map([...projectIssuers.map((i) => [i.name, bindingOf(i, `${prmBase}/${i.name}/mcp`)] as const), [PYTHON_SDK_PROJECT, pythonBinding]]),
    legacy: bindingOf(legacy, `${prmBase}${LEGACY_SSE_PATH}`),
  }, stats, options.tamper ?? {});
  v2.serve({
    modern: bindingOf(modern, `${v2.origin}/.well-known/oauth-protected-resource/modern/mcp`),
    dual: bindingOf(dual, `${v2.origin}/.well-known/oauth-protected-resource/dual/mcp`),
  }, stats, options.tamper ?? {});

  const issuerOfJwt = (token: string) => {
    const iss = decodeJwt(token).iss;
    const issuer = iss && byIssuerUrl.get(iss);
    if (!issuer) throw new Error(`token was not issued by this cloud (iss ${iss})`);
    return issuer;
  };
  const isJwt = (token: string) => token.split('.').length === 3;

  return {
    mcpUrl: `${mcp.origin}/`,
    projectMcpUrl: projectResource,
    issuer: root.issuer,
    projectIssuer: issuerUrl,
    user: { ...TEST_USER },
    stats,
    resetStats: () => { Object.assign(stats, zeroStats()); },
    async tokenStatus(token) {
      if (isJwt(token)) {
        const issuer = issuerOfJwt(token);
        const { jti } = decodeJwt(token);
        return jti ? issuer.tokens.jwtAccessTokenStatus(jti) : 'unknown';
      }
      const statuses = [...byIssuerUrl.values()].map((i) => i.tokens.opaqueTokenStatus(token));
      return statuses.find((s) => s !== 'unknown') ?? 'unknown';
    },
    async verifyAccessToken(token) {
      return verifyAccessToken(token, bindingOf(issuerOfJwt(token), ''));
    },
    stopAuthServer: () => auth.stop(),
    startAuthServer: () => auth.start(),
    restartMcpServer: () => mcp.restart(),
    dropMcpSessions: () => { mcp.dropSessions(); v2.dropSessions(); },
    lastMcpRequestHeaders: () => mcp.lastRequestHeaders(),
    legacySseUrl: `${mcp.origin}${LEGACY_SSE_PATH}`,
    legacySseIssuer: legacy.issuer,
    modernMcpUrl: v2.url('modern'),
    dualMcpUrl: v2.url('dual'),
    modernIssuer: modern.issuer,
    dualIssuer: dual.issuer,
    v2McpRequests: () => v2.requests(),
    slowRuns: () => v2.slowRuns(),
    devicePolls: () => [...root.devicePolls],
    pythonSdkMcpUrl: projectResource(PYTHON_SDK_PROJECT),
    pythonSdkIssuer: python.issuer,
    pythonSdk: python.stats,
    stop: async () => { await Promise.all([auth.stop(), mcp.stop(), v2.stop(), python.stop()]); },
  };
}
