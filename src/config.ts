// Defaults from `<config dir>/config.json`, so that client configs stay one line. Precedence:
//   1. the command-line flag,  2. the environment variable,  3. the profile's section,
//   4. the file's top level,   5. the built-in default.
// Example: { "url": "https://fra.example/p1/mcp", "store": "keychain",
//            "profiles": { "work": { "url": "https://mcp.appwrite.io/", "clientId": "my-client" } } }
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError, Code } from './errors.js';
import { jsonSyntaxError } from './log.js';

export interface Defaults {
  url?: string;
  scope?: string;
  store?: 'keychain' | 'file';
  clientId?: string;
  /** The authorization server `clientId` is registered with (`--issuer`). */
  issuer?: string;
  clientMetadataUrl?: string;
  /** Proxy: tool globs to hide (`--ignore-tool`), to show only (`--allow-tool`), read-only tools only. */
  ignoreTools?: string[];
  allowTools?: string[];
  readOnly?: boolean;
  /** Proxy: `--transport` and `--ping-interval` (seconds). */
  transport?: 'auto' | 'http' | 'sse';
  pingInterval?: number;
}

const KEYS: Record<keyof Defaults, (v: unknown) => boolean> = {
  url: (v) => typeof v === 'string',
  scope: (v) => typeof v === 'string',
  store: (v) => v === 'keychain' || v === 'file',
  clientId: (v) => typeof v === 'string',
  issuer: (v) => typeof v === 'string',
  clientMetadataUrl: (v) => typeof v === 'string',
  ignoreTools: (v) => Array.isArray(v) && v.every((g) => typeof g === 'string'),
  allowTools: (v) => Array.isArray(v) && v.every((g) => typeof g === 'string'),
  readOnly: (v) => typeof v === 'boolean',
  transport: (v) => v === 'auto' || v === 'http' || v === 'sse',
  pingInterval: (v) => typeof v === 'number' && Number.isFinite(v) && v > 0,
};

export const CONFIG_FILE_NAME = 'config.json';

/**
 * The defaults for `profile` (its section over the top level). A missing file is no defaults; a
 * file that cannot be used is a usage error naming it (guessing could sign in to the wrong server).
 */
export function loadDefaults(dir: string, profile: string | undefined, warn: (line: string) => void): Defaults {
  const path = join(dir, CONFIG_FILE_NAME);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new AppError(Code.USAGE, `cannot read ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new AppError(Code.USAGE, `${path} is not valid JSON (${jsonSyntaxError(err, text)})`, { hint: 'Fix it, or move it away to use no defaults.' });
  }
  if (!isRecord(parsed)) throw new AppError(Code.USAGE, `${path} must hold a JSON object`);
  const top = section(parsed, path, '', warn, true);
  const profiles = parsed.profiles;
  if (profiles !== undefined && !isRecord(profiles)) throw new AppError(Code.USAGE, `${path}: "profiles" must be an object of profile name → settings`);
  const own = profile && isRecord(profiles) && isRecord(profiles[profile]) ? section(profiles[profile] as Record<string, unknown>, path, `profiles.${profile}.`, warn, false) : {};
  return { ...top, ...own };
}

function section(obj: Record<string, unknown>, path: string, prefix: string, warn: (line: string) => void, top: boolean): Defaults {
  const out: Defaults = {};
  for (const [key, value] of Object.entries(obj)) {
    if (top && key === 'profiles') continue;
    const check = KEYS[key as keyof Defaults];
    if (!check) {
      warn(`${path}: ignoring unknown setting "${prefix}${key}" (known: ${Object.keys(KEYS).join(', ')}${top ? ', profiles' : ''})`);
      continue;
    }
    if (!check(value)) throw new AppError(Code.USAGE, `${path}: "${prefix}${key}" has the wrong type (${JSON.stringify(value)})`);
    (out as Record<string, unknown>)[key] = value;
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
