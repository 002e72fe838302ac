// What a server says about itself, whichever era told us: a 2025 `initialize` result or a
// 2026-07-28 `server/discover` result. The bridge answers the other era's question from it: a 2025
// client's `initialize` from a discover result, a modern client's `server/discover` from an
// initialize result (or from the cache, without asking the server at all).
import { META, MODERN_VERSION } from './modern.js';

/** The 2025-era revisions, newest first. */
export const KNOWN_PROTOCOL_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05', '2024-10-07'];

export interface ServerAbout {
  capabilities: Record<string, unknown>;
  serverInfo?: { name: string; version: string; [key: string]: unknown };
  instructions?: string;
}

/** From a `server/discover` result (serverInfo lives in its `_meta` since spec PR #3002). */
export function aboutFromDiscover(result: Record<string, unknown>): ServerAbout {
  const meta = result._meta as Record<string, unknown> | undefined;
  return clean({
    capabilities: asObject(result.capabilities),
    serverInfo: asServerInfo(meta?.[META.serverInfo] ?? result.serverInfo),
    instructions: typeof result.instructions === 'string' ? result.instructions : undefined,
  });
}

/** From a 2025 `initialize` result. */
export function aboutFromInitialize(result: Record<string, unknown>): ServerAbout {
  return clean({
    capabilities: asObject(result.capabilities),
    serverInfo: asServerInfo(result.serverInfo),
    instructions: typeof result.instructions === 'string' ? result.instructions : undefined,
  });
}

/**
 * The `initialize` result for a 2025 client that asked for `requested`. Resource subscriptions are
 * not offered: 2026-07-28 has no `resources/subscribe` for the bridge to forward.
 */
export function initializeResult(about: ServerAbout, requested: unknown, fallbackInfo: { name: string; version: string }): Record<string, unknown> {
  const protocolVersion = typeof requested === 'string' && KNOWN_PROTOCOL_VERSIONS.includes(requested) ? requested : KNOWN_PROTOCOL_VERSIONS[0]!;
  let capabilities = about.capabilities;
  const resources = capabilities.resources as Record<string, unknown> | undefined;
  if (resources && 'subscribe' in resources) {
    const { subscribe: _dropped, ...rest } = resources;
    capabilities = { ...capabilities, resources: rest };
  }
  const result: Record<string, unknown> = { protocolVersion, capabilities, serverInfo: about.serverInfo ?? fallbackInfo };
  if (about.instructions !== undefined) result.instructions = about.instructions;
  return result;
}

/** The `server/discover` result for a 2026-07-28 client. */
export function discoverResult(about: ServerAbout): Record<string, unknown> {
  const result: Record<string, unknown> = { supportedVersions: [MODERN_VERSION], capabilities: about.capabilities };
  if (about.instructions !== undefined) result.instructions = about.instructions;
  result.resultType = 'complete';
  result.ttlMs = 0;
  result.cacheScope = 'private';
  if (about.serverInfo) result._meta = { [META.serverInfo]: about.serverInfo };
  return result;
}

function asObject(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : {};
}

function asServerInfo(value: unknown): ServerAbout['serverInfo'] {
  const v = value as { name?: unknown; version?: unknown } | undefined;
  return typeof v?.name === 'string' && typeof v.version === 'string' ? v as ServerAbout['serverInfo'] : undefined;
}

function clean(about: ServerAbout): ServerAbout {
  const out: ServerAbout = { capabilities: about.capabilities };
  if (about.serverInfo) out.serverInfo = about.serverInfo;
  if (about.instructions !== undefined) out.instructions = about.instructions;
  return out;
}
