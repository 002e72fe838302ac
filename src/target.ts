import { readFileSync } from 'node:fs';
import { AppError, Code } from './errors.js';
import { registerSecret } from './log.js';
import { parseSecureUrl } from './net.js';
import type { Target } from './store/types.js';

export const DEFAULT_SERVER_URL = 'https://mcp.appwrite.io/';

/**
 * The MCP server this invocation is about: `--url`, else `APPWRITE_MCP_URL` (empty is unset, as a
 * cleared setting arrives from a client such as Claude Desktop's bundle settings), else Appwrite's hosted
 * server. Normalized (no fragment, default ports dropped) so that it keys the state the same way
 * whichever way the user typed it.
 */
export function resolveServerUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const raw = flag ?? (env.APPWRITE_MCP_URL || undefined) ?? DEFAULT_SERVER_URL;
  const url = parseSecureUrl(raw.trim(), 'server URL');
  url.hash = '';
  return url.href;
}

/**
 * The target of a command: the server URL, the extra headers (`--header Name:value` and the lines
 * of `--header-file`, `${VAR}` expanded from the environment) and the profile.
 */
export function resolveTarget(opts: { url?: string; header?: string[]; headerFile?: string; profile?: string }, env: NodeJS.ProcessEnv = process.env): Target {
  const headers = parseHeaders([...(opts.headerFile ? readHeaderFile(opts.headerFile) : []), ...(opts.header ?? [])], env);
  const target: Target = { url: resolveServerUrl(opts.url, env) };
  if (Object.keys(headers).length) target.headers = headers;
  if (opts.profile) target.profile = opts.profile;
  return target;
}

/**
 * `Name:value` strings as a header map. `${VAR}` in a value is replaced by that environment variable
 * (so API keys stay out of client config files); such values are redacted in every log. Authorization
 * is refused (the sign-in sets it).
 */
export function parseHeaders(values: string[], env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const value of values) {
    const name = headerName(value);
    const i = value.indexOf(':');
    if (name.toLowerCase() === 'authorization') {
      throw new AppError(Code.USAGE, '--header Authorization is not allowed: appwrite-mcp sets it from your sign-in', { hint: 'Use APPWRITE_MCP_TOKEN to supply a token yourself.' });
    }
    const raw = value.slice(i + 1).trim();
    const expanded = expandVariables(raw, env, `--header ${name}`);
    if (expanded !== raw) registerSecret(expanded);
    if (/[\r\n]/.test(expanded)) throw new AppError(Code.USAGE, `--header ${name}: the value has a line break`);
    headers[name] = expanded;
  }
  return headers;
}

/** A header name: an RFC 9110 token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The name of a `Name:value` header; a usage error naming it (never showing it) otherwise. */
export function headerName(value: string): string {
  const i = value.indexOf(':');
  const name = value.slice(0, i).trim();
  if (i <= 0 || !TOKEN.test(name)) throw new AppError(Code.USAGE, `${headerLabel(value)} is not Name:value (the value is not shown: it may be a secret)`, { hint: 'Write --header "Name: value".' });
  return name;
}

/**
 * How a malformed header is named in an error: by the name it seems to start with ("X-Api-Key=…",
 * "X-Api-Key …"), never by its text, which may be a key given the wrong way.
 */
function headerLabel(value: string): string {
  const name = /^\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64})\s*[=\s:]/.exec(value)?.[1];
  return name ? `--header ${name}` : 'a --header value';
}

/**
 * `${VAR}` in a flag's value, replaced from the environment (an unset one is a usage error naming
 * `flag`); `quote` encodes each value for where it lands (as is by default).
 */
export function expandVariables(text: string, env: NodeJS.ProcessEnv, flag: string, quote: (value: string) => string = (v) => v): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, variable: string) => {
    const v = env[variable];
    if (v === undefined) throw new AppError(Code.USAGE, `${flag}: the environment variable ${variable} is not set`);
    return quote(v);
  });
}

/** `--header-file`: one `Name: value` per line; blank lines and lines starting with # are skipped. Values are secrets. */
function readHeaderFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AppError(Code.USAGE, `cannot read --header-file ${path}: ${(err as Error).message}`);
  }
  const lines = headerFileLines(text);
  for (const line of lines) registerSecret(line.slice(line.indexOf(':') + 1).trim());
  return lines;
}

/** The header lines of a `--header-file`'s text: trimmed, without blank lines and `#` comments. */
export function headerFileLines(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
}

/**
 * The command that signs in to `target` from a terminal, for messages that tell the user what to
 * do, named as this CLI was invoked (npx, a global install, or a checkout).
 */
export function loginCommand(target: Target | string): string {
  const t = typeof target === 'string' ? { url: target } : target;
  const parts = [invokedAs(), 'login'];
  if (t.url !== DEFAULT_SERVER_URL) parts.push('--url', t.url);
  for (const name of Object.keys(t.headers ?? {})) parts.push('--header', `'${name}: …'`);
  if (t.profile) parts.push('--profile', t.profile);
  return parts.join(' ');
}

/**
 * How the user runs this CLI: `npx appwrite-mcp` (npx, or a project's node_modules), `appwrite-mcp`
 * (a global install or npm link), or `node <path>/bin/appwrite-mcp.js` (a checkout).
 */
export function invokedAs(script: string = process.argv[1] ?? ''): string {
  const path = script.replaceAll('\\', '/');
  if (!/\/bin\/appwrite-mcp(\.js)?$/.test(path)) return 'npx appwrite-mcp';
  if (path.includes('/_npx/')) return 'npx appwrite-mcp';
  if (/\/lib\/node_modules\/appwrite-mcp\//.test(path) || /\/npm\/node_modules\/appwrite-mcp\//.test(path)) return 'appwrite-mcp';
  if (path.includes('/node_modules/appwrite-mcp/')) return 'npx appwrite-mcp';
  return `node ${script}`;
}
