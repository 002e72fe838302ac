import { parseSecureUrl } from './net.js';

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

/** The command that signs in to `url` from a terminal, for messages that tell the user what to do. */
export function loginCommand(url: string): string {
  return `npx appwrite-mcp login${url === DEFAULT_SERVER_URL ? '' : ` --url ${url}`}`;
}
