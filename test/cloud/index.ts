// The local cloud stand-in: a real OAuth 2.1 authorization server (oidc-provider) and a real MCP
// resource server, modelled on Appwrite's hosted MCP, on 127.0.0.1 with random ports.
import { createLocalJWKSet, decodeJwt } from 'jose';
import type { CloudUser } from './accounts.js';
import { TEST_USER } from './accounts.js';
import { AuthServer } from './auth-server.js';
import { verifyAccessToken, type AccessTokenClaims, type ResourceBinding } from './bearer.js';
import { createIssuer, type Issuer } from './issuer.js';
import { McpResourceServer } from './mcp-server.js';
import { zeroStats, type CloudStats } from './stats.js';
import type { Tamper } from './tamper.js';
import type { TokenStatus } from './token-store.js';

export type { CloudUser, CloudStats, Tamper, TokenStatus };

export interface CloudOptions {
  /** Access token lifetime in seconds (default 3600). */
  accessTokenTtl?: number;
  /** Refresh token lifetime in seconds (default 14 days). */
  refreshTokenTtl?: number;
  /** Project ids served in the per-project layout (default ['demo-project']). */
  projects?: string[];
  /** Deliberate misbehaviour for client negative tests (all off by default). */
  tamper?: Tamper;
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
  dropMcpSessions(): void;
  lastMcpRequestHeaders(): Record<string, string | string[] | undefined>[];
  stop(): Promise<void>;
}

const ROOT_ISSUER_NAME = 'console';
const PROJECT_ID = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

export async function startCloud(options: CloudOptions = {}): Promise<Cloud> {
  const projects = options.projects ?? ['demo-project'];
  for (const id of projects) {
    if (!PROJECT_ID.test(id) || id === ROOT_ISSUER_NAME || id === 'mcp') throw new TypeError(`invalid project id "${id}"`);
  }
  const stats = zeroStats();
  const [auth, mcp] = await Promise.all([AuthServer.reserve(), McpResourceServer.reserve()]);
  const issuerUrl = (name: string) => `${auth.origin}/v1/oauth2/${name}`;
  const projectResource = (id: string) => `${mcp.origin}/${id}/mcp`;

  const issuerFor = (name: string, resource: string) => createIssuer({
    name,
    issuer: issuerUrl(name),
    resource,
    accessTokenTtl: options.accessTokenTtl ?? 3600,
    refreshTokenTtl: options.refreshTokenTtl ?? 14 * 24 * 3600,
    tamper: options.tamper ?? {},
    stats,
  });
  const [root, ...projectIssuers] = await Promise.all([
    issuerFor(ROOT_ISSUER_NAME, `${mcp.origin}/`),
    ...projects.map((id) => issuerFor(id, projectResource(id))),
  ]);
  const byIssuerUrl = new Map([root, ...projectIssuers].map((i) => [i.issuer, i]));

  const bindingOf = (issuer: Issuer, prmUrl: string): ResourceBinding => ({
    resource: issuer.resource,
    issuer: issuer.issuer,
    prmUrl,
    keys: createLocalJWKSet(issuer.publicJwks), // the keys published at the issuer's jwks_uri
    isRevoked: (jti) => issuer.tokens.isJwtAccessTokenRevoked(jti),
  });
  const prmBase = `${mcp.origin}/.well-known/oauth-protected-resource`;
  auth.serve([root, ...projectIssuers], stats);
  mcp.serve({
    root: bindingOf(root, prmBase),
    alias: bindingOf(root, `${prmBase}/mcp`),
    projects: new Map(projectIssuers.map((i) => [i.name, bindingOf(i, `${prmBase}/${i.name}/mcp`)])),
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
    dropMcpSessions: () => mcp.dropSessions(),
    lastMcpRequestHeaders: () => mcp.lastRequestHeaders(),
    stop: async () => { await Promise.all([auth.stop(), mcp.stop()]); },
  };
}
