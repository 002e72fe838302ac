// What a sign-in is made of. Secrets (access and refresh token, client secret, DPoP key) live in the secret
// store; everything else in state.json. sign-ins.ts is the only module that knows the split.
import type { AuthorizationServer } from 'oauth4webapi';
import type { SecretStoreKind } from './secrets.js';

export type { SecretStoreKind };

export type RegistrationMethod = 'dcr' | 'preregistered' | 'cimd';

/**
 * What a cached registration is for: the browser sign-in (authorization code with a loopback
 * redirect), or `login --device-code` (the device authorization grant, no redirect). One of each
 * may be cached per AS issuer and MCP server.
 */
export type ClientPurpose = 'browser' | 'device';

/** How the client authenticates at the token endpoint (RFC 7591 `token_endpoint_auth_method`). */
export type ClientAuthMethod = 'none' | 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';

/** A client registration, cached per authorization-server issuer and MCP server, never used with another. */
export interface ClientRecord {
  issuer: string;
  clientId: string;
  method: RegistrationMethod;
  redirectUris: string[];
  registeredAt: number;
  /** Absent in records of appwrite-mcp 0.1: none. */
  authMethod?: ClientAuthMethod;
  /** A client secret is kept in the secret store (never here). */
  hasSecret?: boolean;
  /** Epoch ms when the secret expires (RFC 7591 client_secret_expires_at); absent: never. */
  secretExpiresAt?: number;
  /** Where a cached registration's secret is (a sign-in keeps its own copy with its tokens). */
  secretStore?: SecretStoreKind;
  /** The RFC 7591 `grant_types` it was registered with; absent: authorization_code and refresh_token. */
  grantTypes?: string[];
}

export interface Account {
  sub?: string;
  email?: string;
  name?: string;
}

/** What the sign-in is for: one server, seen with one set of extra headers, under one profile. */
export interface Target {
  /** The MCP server URL, normalized. */
  url: string;
  /** Extra HTTP headers (`--header`): they key the sign-in, but only their names are stored. */
  headers?: Record<string, string>;
  profile?: string;
}

/** Tokens as the proxy uses them, in memory. */
export interface Tokens {
  accessToken: string;
  refreshToken?: string;
  /** Epoch ms when the access token expires (absent: unknown). */
  expiresAt?: number;
  /** Epoch ms when it was issued to us, so "about to expire" can scale with short lifetimes. */
  obtainedAt: number;
  /** Scopes granted with this access token. */
  scopes: string[];
  tokenType?: string;
}

/**
 * A sign-in as the code passes it around: its record (state.json) and its tokens, which are absent
 * when the stored access token is missing or torn (the record's refresh token then gets new ones).
 */
export interface SignIn {
  record: SignInRecord;
  tokens?: Tokens;
}

/** The non-secret facts about the stored access token; `fingerprint` ties them to the secret itself. */
export interface TokenInfo {
  fingerprint: string;
  /** How many secret-store entries hold the access token. */
  parts: number;
  expiresAt?: number;
  obtainedAt: number;
  scopes: string[];
  tokenType?: string;
  hasRefreshToken: boolean;
}

/** The key a sign-in's tokens are bound to (RFC 9449), as state.json names it (never its private half). */
export interface DpopBinding {
  alg: string;
  /** The key's JWK SHA-256 thumbprint (RFC 7638). */
  jkt: string;
}

/** One sign-in: the non-secret record in state.json. */
export interface SignInRecord {
  /** Its key in state.json and the stem of its secret names (see signInKey in sign-ins.ts). */
  key: string;
  url: string;
  profile?: string;
  /** Names (never values) of the extra headers this sign-in was made with. */
  headerNames?: string[];
  /** RFC 8707 resource (the PRM `resource`, or --resource): the audience of the access token. */
  resource: string;
  /** Signed in with --no-resource: no `resource` on refreshes either. */
  noResource?: true;
  /** The authorization server's metadata, as discovered (RFC 8414 / OIDC) and as oauth4webapi takes it. */
  as: AuthorizationServer;
  client: ClientRecord;
  account?: Account;
  token: TokenInfo;
  store: SecretStoreKind;
  /**
   * The sign-in's tokens are bound to a DPoP key (RFC 9449): its algorithm and RFC 7638 thumbprint
   * (what the tokens carry as `cnf.jkt`). The private key is in the secret store beside the refresh
   * token, which cannot be used without it.
   */
  dpop?: DpopBinding;
  signedInAt: number;
  updatedAt: number;
  /** A sign-in saved by appwrite-mcp 0.1 (state version 1): its whole token set in this one entry, moved on first read. */
  legacySecret?: string;
}

export interface StateFile {
  version: 2;
  signIns: Record<string, SignInRecord>;
  /** Cached client registrations by `<issuer> <resource>` (` device` appended for the device flow's; 0.1: by issuer). */
  clients: Record<string, ClientRecord>;
  /** When an automatic browser sign-in last failed or was abandoned (epoch ms) by sign-in key, to rate-limit tabs. */
  signInFailures?: Record<string, number>;
  /** The authorization server each pre-registered client id is pinned to (see auth/pinning.ts). */
  clientIssuers?: Record<string, string>;
}
