// The scopes of the MCP resource servers, and how an issuer treats them (its scope model).
export const DEFAULT_MCP_SCOPES = ['mcp:read', 'mcp:write'];
export const ADMIN_SCOPE = 'mcp:admin';
export const ALL_MCP_SCOPES = [...DEFAULT_MCP_SCOPES, ADMIN_SCOPE];

/** Appwrite's console AS: its umbrella scope, which stands for the whole catalog. */
export const UMBRELLA_SCOPE = 'all';

const APPWRITE_SERVICES: Record<string, string[]> = {
  account: ['read', 'write'],
  users: ['read', 'write'], 'users.sessions': ['read', 'write'],
  teams: ['read', 'write'], 'teams.memberships': ['read', 'write'],
  databases: ['read', 'write'], 'databases.tables': ['read', 'write'], 'databases.columns': ['read', 'write'],
  'databases.indexes': ['read', 'write'], 'databases.rows': ['read', 'write'],
  'storage.buckets': ['read', 'write'], 'storage.files': ['read', 'write'],
  functions: ['read', 'write'], 'functions.deployments': ['read', 'write'], 'functions.executions': ['read', 'write'],
  sites: ['read', 'write'], 'sites.deployments': ['read', 'write'], 'sites.logs': ['read', 'write'],
  'messaging.providers': ['read', 'write'], 'messaging.topics': ['read', 'write'], 'messaging.subscribers': ['read', 'write'],
  'messaging.messages': ['read', 'write'], 'messaging.targets': ['read', 'write'],
  locale: ['read'], avatars: ['read'], health: ['read'],
  migrations: ['read', 'write'], tokens: ['read', 'write'], 'domains.rules': ['read', 'write'], vcs: ['read', 'write'],
  'backups.policies': ['read', 'write'],
  projects: ['read', 'write'], 'projects.platforms': ['read', 'write'], 'projects.keys': ['read', 'write'], 'projects.webhooks': ['read', 'write'],
  'organization.projects': ['read', 'write'], 'organization.members': ['read', 'write'], 'organization.billing': ['read', 'write'],
};

/**
 * An Appwrite-shaped fine-grained catalog: 73 scopes, about 1,470 characters joined, the size of the
 * one Appwrite's hosted MCP server mirrors from its AS into its metadata and its 401 challenge.
 */
export const APPWRITE_SCOPES = Object.entries(APPWRITE_SERVICES).flatMap(([service, actions]) => actions.map((a) => `${service}.${a}`));

/** How an issuer treats the scopes of its resource. */
export interface ScopeModel {
  /** What the MCP server advertises: its PRM `scopes_supported` and its 401 challenge's `scope`. */
  advertised: string[];
  /** Every scope a token for the resource may carry (listed in the AS metadata too). */
  resourceScopes: string[];
  /** Granted when an authorization request names none of `resourceScopes`. */
  defaultScopes: string[];
  /** Longest `scope` an authorization request may carry; a longer one is refused as invalid_scope. */
  maxScopeLength?: number;
  /**
   * How that refusal comes: an error redirect to the client (RFC 6749 §4.1.2.1, what oidc-provider
   * does for any invalid_scope), or the AS's own error page (HTTP 400), as some servers do.
   */
  refusal: 'redirect' | 'page';
}

export const MCP_SCOPE_MODEL: ScopeModel = { advertised: DEFAULT_MCP_SCOPES, resourceScopes: ALL_MCP_SCOPES, defaultScopes: DEFAULT_MCP_SCOPES, refusal: 'redirect' };

/**
 * Appwrite's: the server advertises the whole fine-grained catalog; the AS caps `scope` at
 * `maxScopeLength` characters and takes the umbrella `all` (unless `umbrella` is false: then it
 * lists no umbrella and grants the whole catalog to a request that names no scope).
 */
export function appwriteScopeModel(o: { maxScopeLength?: number; umbrella?: boolean; refusal?: 'redirect' | 'page' } = {}): ScopeModel {
  const umbrella = o.umbrella ?? true;
  return {
    advertised: APPWRITE_SCOPES,
    resourceScopes: umbrella ? [...APPWRITE_SCOPES, UMBRELLA_SCOPE] : APPWRITE_SCOPES,
    defaultScopes: umbrella ? [UMBRELLA_SCOPE] : APPWRITE_SCOPES,
    maxScopeLength: o.maxScopeLength ?? 1000,
    refusal: o.refusal ?? 'redirect',
  };
}
