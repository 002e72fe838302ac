// RFC 9728 protected-resource metadata for one MCP endpoint.
import type { ResourceBinding } from './bearer.js';
import { DEFAULT_MCP_SCOPES } from './scopes.js';
import { WRONG_RESOURCE, type Tamper } from './tamper.js';

export function mcpProtectedResourceMetadata(binding: ResourceBinding, tamper: Tamper) {
  return {
    resource: tamper.prmResourceMismatch ? WRONG_RESOURCE : binding.resource,
    authorization_servers: [binding.issuer],
    scopes_supported: binding.scopes ?? DEFAULT_MCP_SCOPES,
    bearer_methods_supported: ['header'],
    resource_name: 'Appwrite MCP (local stand-in)',
  };
}
