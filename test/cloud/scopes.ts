// The scopes of the MCP resource servers.
export const DEFAULT_MCP_SCOPES = ['mcp:read', 'mcp:write'];
export const ADMIN_SCOPE = 'mcp:admin';
export const ALL_MCP_SCOPES = [...DEFAULT_MCP_SCOPES, ADMIN_SCOPE];
