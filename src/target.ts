import { AppError, Code } from './errors.js';
import { parseSecureUrl } from './net.js';
import type { Target } from './store/types.js';

export const DEFAULT_SERVER_URL = 'https://mcp.appwrite.io/';

/**
 * The MCP server this invocation is about: `--url`, else `APPWRITE_MCP_URL`, else Appwrite's hosted
 * server. Normalized (no fragment, default ports dropped) so that it keys the state the same way
 * whichever way the user typed it.
 */
export function resolveServerUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const raw = flag ?? env.APPWRITE_MCP_URL ?? DEFAULT_SERVER_URL;
  const url = parseSecureUrl(raw.trim(), 'server URL');
  url.hash = '';
  return url.href;
}

/** The target of a command: the server URL and the extra headers (`--header Name:value`). */
export function resolveTarget(opts: { url?: string; header?: string[] }, env: NodeJS.ProcessEnv = process.env): Target {
  const headers = parseHeaders(opts.header ?? []);
  return Object.keys(headers).length ? { url: resolveServerUrl(opts.url, env), headers } : { url: resolveServerUrl(opts.url, env) };
}

/** `Name:value` strings as a header map; Authorization is refused (the sign-in sets it). */
export function parseHeaders(values: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const value of values) {
    const i = value.indexOf(':');
    const name = value.slice(0, i).trim();
    if (name.toLowerCase() === 'authorization') {
      throw new AppError(Code.USAGE, '--header Authorization is not allowed: appwrite-mcp sets it from your sign-in', { hint: 'Use APPWRITE_MCP_TOKEN to supply a token yourself.' });
    }
    headers[name] = value.slice(i + 1).trim();
  }
  return headers;
}

/** The command that signs in to `url` from a terminal, for messages that tell the user what to do. */
export function loginCommand(url: string): string {
  return `npx appwrite-mcp login${url === DEFAULT_SERVER_URL ? '' : ` --url ${url}`}`;
}
