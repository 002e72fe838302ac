// Doctor, part 6: which MCP client configs on this machine start appwrite-mcp, and for which
// server. The file clients, their paths and entry shapes come from setup (src/setup/clients.ts),
// read with setup's own JSON(C), TOML and YAML readers; Claude Code's files (which setup leaves to
// `claude mcp add`) are read here: ~/.claude.json (user scope, and local scope per project) and the
// project's .mcp.json.
import { isAbsolute, join } from 'node:path';
import { errorMessage } from '../errors.js';
import { CLIENT_IDS, CLIENTS, type SetupEnvironment } from '../setup/clients.js';
import { STDIO, type EntryShape } from '../setup/entry-shapes.js';
import { runsAppwriteMcp } from '../setup/entry.js';
import { isJsonObject, parseJsonDocument, type JsonValue } from '../setup/json-document.js';
import { parseTomlDocument, type TomlValue } from '../setup/toml-document.js';
import type { Target } from '../store/types.js';
import { DEFAULT_SERVER_URL, headerFileLines, invokedAs, resolveServerUrl } from '../target.js';
import { readRegularFile } from './files.js';
import { ok, warn, type CheckResult } from './report.js';

/** Bounds on what doctor reads of a client config and of a --header-file it names. */
const MAX_CONFIG_BYTES = 32 * 1024 * 1024;
const MAX_HEADER_FILE_BYTES = 64 * 1024;

/** One server entry that starts appwrite-mcp. */
export interface ClientEntry {
  client: string;
  label: string;
  file: string;
  /** The entry's name, with its scope for Claude Code ("appwrite (user scope)"). */
  name: string;
  /** The server it connects to, normalized; undefined when its --url does not parse. */
  url?: string;
  /** Where the URL comes from. */
  urlFrom: '--url' | 'APPWRITE_MCP_URL' | 'config.json' | 'default';
  rawUrl?: string;
  /** Names of its --header flags and --header-file lines (values are never read out). */
  headerNames: string[];
  /** Its --profile (or APPWRITE_MCP_PROFILE in its env). */
  profile?: string;
}

interface ConfigSource {
  client: string;
  label: string;
  file: string;
  format: 'json' | 'jsonc' | 'toml' | 'yaml';
  /** Where the servers sit in a JSON or YAML file: a path of keys to the map of servers, with a scope label. */
  containers: Array<{ path: string[]; scope?: string }>;
  shape: EntryShape;
}

/** Every config file a client on this machine may keep MCP servers in. */
export function configSources(e: SetupEnvironment): ConfigSource[] {
  const sources: ConfigSource[] = [];
  for (const c of CLIENTS) {
    if (c.kind === 'file') {
      const common = { client: c.id, format: c.format, containers: [{ path: [c.containerKey] }], shape: c.shape };
      for (const file of c.userFiles(e)) sources.push({ ...common, label: c.label, file });
      for (const file of c.projectFiles?.(e.cwd) ?? []) sources.push({ ...common, label: `${c.label} (project)`, file });
    } else if (c.id === 'claude-code') {
      const dir = e.env.CLAUDE_CONFIG_DIR && isAbsolute(e.env.CLAUDE_CONFIG_DIR) ? e.env.CLAUDE_CONFIG_DIR : e.home;
      sources.push({
        client: c.id, label: c.label, file: join(dir, '.claude.json'), format: 'json', shape: STDIO,
        containers: [{ path: ['mcpServers'], scope: 'user scope' }, { path: ['projects', e.cwd, 'mcpServers'], scope: `local scope, ${e.cwd}` }],
      });
      sources.push({ client: c.id, label: `${c.label} (project)`, file: join(e.cwd, '.mcp.json'), format: 'json', shape: STDIO, containers: [{ path: ['mcpServers'], scope: 'project scope' }] });
    }
  }
  return sources;
}

export interface FoundEntries {
  entries: ClientEntry[];
  /** Files that exist but could not be read. */
  unreadable: Array<{ file: string; label: string; error: string }>;
}

/** The `url` default of config.json for a profile (src/config.ts), as the entry's own run would see it. */
export type ConfigDefaultUrl = (profile: string | undefined, env: Record<string, unknown> | undefined) => string | undefined;

export async function findClientEntries(e: SetupEnvironment, defaultUrl: ConfigDefaultUrl = () => undefined): Promise<FoundEntries> {
  const entries: ClientEntry[] = [];
  const unreadable: FoundEntries['unreadable'] = [];
  for (const source of configSources(e)) {
    let text: string;
    try {
      const read = await readRegularFile(source.file, MAX_CONFIG_BYTES);
      if (read.truncated) throw new Error(`larger than ${MAX_CONFIG_BYTES / 1024 / 1024} MiB: not read`);
      text = read.text;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'ENOTDIR') unreadable.push({ file: source.file, label: source.label, error: errorMessage(err) });
      continue;
    }
    if (text.replace(/^\uFEFF/, '').trim() === '') continue;
    try {
      const servers = source.format === 'toml' ? tomlServers(text) : mappedServers(source.format === 'yaml' ? await yamlRoot(text) : parseJsonDocument(text, { jsonc: source.format === 'jsonc' }).value, source);
      for (const s of servers) {
        if (!runsAppwriteMcp(s.command, s.args)) continue;
        const profile = flagValue(s.args, '--profile') ?? (typeof s.env?.APPWRITE_MCP_PROFILE === 'string' && s.env.APPWRITE_MCP_PROFILE ? s.env.APPWRITE_MCP_PROFILE : undefined);
        entries.push({
          client: source.client, label: source.label, file: source.file, name: s.name,
          ...entryTarget(s.args, s.env, () => defaultUrl(profile, s.env)),
          headerNames: await headerNames(s.args, e.cwd),
          ...(profile ? { profile } : {}),
        });
      }
    } catch (err) {
      unreadable.push({ file: source.file, label: source.label, error: errorMessage(err) });
    }
  }
  return { entries, unreadable };
}

interface RawServer { name: string; command?: unknown; args?: unknown; env?: Record<string, unknown> }

/** A YAML file's content as plain data (one document); the parser is loaded only when there is such a file. */
async function yamlRoot(text: string): Promise<JsonValue> {
  const docs = (await import('yaml')).parseAllDocuments(text);
  if (!Array.isArray(docs) || docs.length !== 1) throw new Error('not one YAML document');
  const error = docs[0]!.errors[0];
  if (error) throw new Error(error.message.split('\n')[0]);
  return docs[0]!.toJS() as JsonValue;
}

/** The servers of a JSON or YAML config, read through the client's entry shape. */
function mappedServers(root: JsonValue, source: ConfigSource): RawServer[] {
  const out: RawServer[] = [];
  for (const container of source.containers) {
    let node: JsonValue | undefined = root;
    for (const key of container.path) node = isJsonObject(node) ? node[key] : undefined;
    if (!isJsonObject(node)) continue;
    for (const [name, entry] of Object.entries(node)) {
      if (!isJsonObject(entry)) continue;
      const { command, args, env } = source.shape.read(entry);
      out.push({ name: container.scope ? `${name} (${container.scope})` : name, command, args, env: isJsonObject(env) ? env : undefined });
    }
  }
  return out;
}

/** `[mcp_servers.<name>]` tables (and dotted keys) of a Codex config.toml. */
function tomlServers(text: string): RawServer[] {
  const doc = parseTomlDocument(text);
  const byName = new Map<string, RawServer>();
  const get = (name: string) => byName.get(name) ?? byName.set(name, { name }).get(name)!;
  for (const pair of doc.pairs) {
    if (pair.tableIsArray) continue;
    const full = [...pair.table, ...pair.key];
    if (full[0] !== 'mcp_servers' || full.length < 3) continue;
    const server = get(full[1]!);
    if (full.length === 3 && full[2] === 'command') server.command = plain(pair.value);
    else if (full.length === 3 && full[2] === 'args') server.args = plain(pair.value);
    else if (full.length === 4 && full[2] === 'env') server.env = { ...server.env, [full[3]!]: plain(pair.value) };
  }
  return [...byName.values()];
}

function plain(value: TomlValue): unknown {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(plain);
  return undefined;
}

const words = (args: unknown): string[] => (Array.isArray(args) ? args.filter((a): a is string => typeof a === 'string') : []);

/** The last value of `--flag <v>` or `--flag=<v>` in an entry's args. */
function flagValue(args: unknown, flag: string): string | undefined {
  const w = words(args);
  let value: string | undefined;
  for (let i = 0; i < w.length; i++) {
    if (w[i] === flag && w[i + 1] !== undefined) value = w[i + 1];
    else if (w[i]!.startsWith(`${flag}=`)) value = w[i]!.slice(flag.length + 1);
  }
  return value;
}

/**
 * The server an entry connects to, in the CLI's precedence: its --url, else APPWRITE_MCP_URL in its
 * env, else config.json's url (for its profile), else the default.
 */
function entryTarget(args: unknown, env: Record<string, unknown> | undefined, configUrl: () => string | undefined): Pick<ClientEntry, 'url' | 'urlFrom' | 'rawUrl'> {
  let raw = flagValue(args, '--url');
  let urlFrom: ClientEntry['urlFrom'] = raw === undefined ? 'default' : '--url';
  if (raw === undefined && typeof env?.APPWRITE_MCP_URL === 'string' && env.APPWRITE_MCP_URL) { raw = env.APPWRITE_MCP_URL; urlFrom = 'APPWRITE_MCP_URL'; }
  if (raw === undefined) {
    raw = configUrl();
    if (raw !== undefined) urlFrom = 'config.json';
  }
  try {
    return { url: resolveServerUrl(raw, {}), urlFrom, ...(raw !== undefined ? { rawUrl: raw } : {}) };
  } catch {
    return { urlFrom, rawUrl: raw };
  }
}

/** The names of an entry's headers: its -H/--header flags and the lines of its --header-file. */
async function headerNames(args: unknown, cwd: string): Promise<string[]> {
  const w = words(args);
  const names: string[] = [];
  for (let i = 0; i < w.length; i++) {
    const value = w[i] === '-H' || w[i] === '--header' ? w[i + 1] : w[i]!.startsWith('--header=') ? w[i]!.slice(9) : undefined;
    if (value?.includes(':')) names.push(value.slice(0, value.indexOf(':')).trim());
  }
  const file = flagValue(args, '--header-file');
  if (file !== undefined) {
    const read = await readRegularFile(isAbsolute(file) ? file : join(cwd, file), MAX_HEADER_FILE_BYTES).catch(() => ({ text: '', truncated: false }));
    // A file cut at the bound loses its last line, which may be cut mid-way.
    const text = read.truncated ? read.text.slice(0, read.text.lastIndexOf('\n') + 1) : read.text;
    for (const line of headerFileLines(text)) {
      if (line.includes(':')) names.push(line.slice(0, line.indexOf(':')).trim());
    }
  }
  return names;
}

function sameHeaders(a: string[], b: string[]): boolean {
  const norm = (x: string[]) => [...new Set(x.map((n) => n.toLowerCase()))].sort().join('\n');
  return norm(a) === norm(b);
}

/** A URL as doctor may show it: user:password@ (refused by appwrite-mcp) replaced by "…@". */
function withoutCredentials(raw: string | undefined): string | undefined {
  return raw?.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1…@');
}

const FROM: Record<ClientEntry['urlFrom'], string> = { '--url': '', APPWRITE_MCP_URL: ' (APPWRITE_MCP_URL in its env)', 'config.json': ' (url in config.json)', default: ' (the default)' };

export async function checkClients(target: Target, e: SetupEnvironment, defaultUrl?: ConfigDefaultUrl): Promise<CheckResult> {
  const { entries, unreadable } = await findClientEntries(e, defaultUrl);
  const wanted = Object.keys(target.headers ?? {});
  const matches = entries.filter((x) => x.url === target.url && sameHeaders(x.headerNames, wanted) && x.profile === target.profile);
  const describe = (x: ClientEntry) => {
    const to = x.url ?? `an invalid URL ${JSON.stringify(withoutCredentials(x.rawUrl))}`;
    const headers = x.headerNames.length ? `, headers ${x.headerNames.join(', ')}` : '';
    const profile = x.profile ? `, profile ${x.profile}` : '';
    return `${matches.includes(x) ? '✓' : '·'} ${x.label}: "${x.name}" in ${x.file} → ${to}${FROM[x.urlFrom]}${headers}${profile}`;
  };
  const detail = [
    ...entries.map(describe),
    ...unreadable.map((u) => `! ${u.label}: cannot read ${u.file}: ${u.error}`),
  ];
  const setupFix = `${invokedAs()} setup <client>${target.url === DEFAULT_SERVER_URL ? '' : ` --url ${target.url}`} (client: ${CLIENT_IDS.join(', ')})${wanted.length || target.profile ? `, then add ${[...wanted.map((n) => `--header '${n}: …'`), ...(target.profile ? [`--profile ${target.profile}`] : [])].join(' ')} to the entry's args` : ''}`;
  if (matches.length > 0) {
    const names = [...new Set(matches.map((m) => m.label))].join(', ');
    return ok('clients', `${matches.length} client config${matches.length === 1 ? '' : 's'} start${matches.length === 1 ? 's' : ''} appwrite-mcp for this server: ${names}`, { detail });
  }
  if (entries.length > 0) {
    const withWhat = [wanted.length ? `the headers ${wanted.join(', ')}` : '', target.profile ? `the profile ${target.profile}` : ''].filter(Boolean).join(' and ');
    return warn('clients', `${entries.length} client config${entries.length === 1 ? '' : 's'} start${entries.length === 1 ? 's' : ''} appwrite-mcp, but none for ${target.url}${withWhat ? ` with ${withWhat}` : ''}`, { detail, fix: setupFix });
  }
  return warn('clients', 'no MCP client config on this machine starts appwrite-mcp', { detail, fix: setupFix });
}
