// Doctor, part 6: which MCP client configs on this machine start appwrite-mcp, and for which
// server. The file clients and their paths come from setup (src/setup/clients.ts), read with
// setup's own JSON(C) and TOML readers; Claude Code's files (which setup leaves to `claude mcp
// add`) are read here: ~/.claude.json (user scope, and local scope per project) and the project's
// .mcp.json.
import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { errorMessage } from '../errors.js';
import { CLIENTS, type SetupEnvironment } from '../setup/clients.js';
import { runsAppwriteMcp } from '../setup/entry.js';
import { isJsonObject, parseJsonDocument, type JsonValue } from '../setup/json-document.js';
import { parseTomlDocument, type TomlValue } from '../setup/toml-document.js';
import type { Target } from '../store/types.js';
import { resolveServerUrl } from '../target.js';
import { ok, warn, type CheckResult } from './report.js';

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
  urlFrom: '--url' | 'APPWRITE_MCP_URL' | 'default';
  rawUrl?: string;
  /** Names of its --header flags (values are never shown). */
  headerNames: string[];
}

interface ConfigSource {
  client: string;
  label: string;
  file: string;
  format: 'json' | 'jsonc' | 'toml';
  /** Where the servers sit in a JSON file: a path of keys to the map of servers, with a scope label. */
  containers: Array<{ path: string[]; scope?: string }>;
}

/** Every config file a client on this machine may keep MCP servers in. */
export function configSources(e: SetupEnvironment): ConfigSource[] {
  const sources: ConfigSource[] = [];
  for (const c of CLIENTS) {
    if (c.kind === 'file') {
      const containers = c.containerKey ? [{ path: [c.containerKey] }] : [];
      sources.push({ client: c.id, label: c.label, file: c.userFile(e), format: c.format, containers });
      if (c.projectFile) sources.push({ client: c.id, label: `${c.label} (project)`, file: c.projectFile(e.cwd), format: c.format, containers });
    } else if (c.id === 'claude-code') {
      const dir = e.env.CLAUDE_CONFIG_DIR && isAbsolute(e.env.CLAUDE_CONFIG_DIR) ? e.env.CLAUDE_CONFIG_DIR : e.home;
      sources.push({
        client: c.id, label: c.label, file: join(dir, '.claude.json'), format: 'json',
        containers: [{ path: ['mcpServers'], scope: 'user scope' }, { path: ['projects', e.cwd, 'mcpServers'], scope: `local scope, ${e.cwd}` }],
      });
      sources.push({ client: c.id, label: `${c.label} (project)`, file: join(e.cwd, '.mcp.json'), format: 'json', containers: [{ path: ['mcpServers'], scope: 'project scope' }] });
    }
  }
  return sources;
}

export interface FoundEntries {
  entries: ClientEntry[];
  /** Files that exist but could not be read. */
  unreadable: Array<{ file: string; label: string; error: string }>;
}

export async function findClientEntries(e: SetupEnvironment): Promise<FoundEntries> {
  const entries: ClientEntry[] = [];
  const unreadable: FoundEntries['unreadable'] = [];
  for (const source of configSources(e)) {
    let text: string;
    try {
      text = await readFile(source.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'ENOTDIR') unreadable.push({ file: source.file, label: source.label, error: errorMessage(err) });
      continue;
    }
    if (text.replace(/^\uFEFF/, '').trim() === '') continue;
    try {
      const servers = source.format === 'toml' ? tomlServers(text) : jsonServers(text, source);
      for (const s of servers) {
        if (!runsAppwriteMcp(s.command, s.args)) continue;
        entries.push({ client: source.client, label: source.label, file: source.file, name: s.name, ...entryTarget(s.args, s.env), headerNames: headerNames(s.args) });
      }
    } catch (err) {
      unreadable.push({ file: source.file, label: source.label, error: errorMessage(err) });
    }
  }
  return { entries, unreadable };
}

interface RawServer { name: string; command?: unknown; args?: unknown; env?: Record<string, unknown> }

function jsonServers(text: string, source: ConfigSource): RawServer[] {
  const root = parseJsonDocument(text, { jsonc: source.format === 'jsonc' }).value;
  const out: RawServer[] = [];
  for (const container of source.containers) {
    let node: JsonValue | undefined = root;
    for (const key of container.path) node = isJsonObject(node) ? node[key] : undefined;
    if (!isJsonObject(node)) continue;
    for (const [name, entry] of Object.entries(node)) {
      if (!isJsonObject(entry)) continue;
      out.push({ name: container.scope ? `${name} (${container.scope})` : name, command: entry.command, args: entry.args, env: isJsonObject(entry.env) ? entry.env : undefined });
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

/** The server an entry connects to: its --url, else APPWRITE_MCP_URL in its env, else the default. */
function entryTarget(args: unknown, env: Record<string, unknown> | undefined): Pick<ClientEntry, 'url' | 'urlFrom' | 'rawUrl'> {
  const words = Array.isArray(args) ? args.filter((a): a is string => typeof a === 'string') : [];
  let raw: string | undefined;
  let urlFrom: ClientEntry['urlFrom'] = 'default';
  for (let i = 0; i < words.length; i++) {
    if (words[i] === '--url' && words[i + 1] !== undefined) { raw = words[i + 1]; urlFrom = '--url'; }
    else if (words[i]!.startsWith('--url=')) { raw = words[i]!.slice(6); urlFrom = '--url'; }
  }
  if (raw === undefined && typeof env?.APPWRITE_MCP_URL === 'string') { raw = env.APPWRITE_MCP_URL; urlFrom = 'APPWRITE_MCP_URL'; }
  try {
    return { url: resolveServerUrl(raw, {}), urlFrom, ...(raw !== undefined ? { rawUrl: raw } : {}) };
  } catch {
    return { urlFrom, rawUrl: raw };
  }
}

function headerNames(args: unknown): string[] {
  const words = Array.isArray(args) ? args.filter((a): a is string => typeof a === 'string') : [];
  const names: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const value = w === '-H' || w === '--header' ? words[i + 1] : w.startsWith('--header=') ? w.slice(9) : undefined;
    if (value?.includes(':')) names.push(value.slice(0, value.indexOf(':')).trim());
  }
  return names;
}

function sameHeaders(a: string[], b: string[]): boolean {
  const norm = (x: string[]) => [...new Set(x.map((n) => n.toLowerCase()))].sort().join('\n');
  return norm(a) === norm(b);
}

export async function checkClients(target: Target, e: SetupEnvironment): Promise<CheckResult> {
  const { entries, unreadable } = await findClientEntries(e);
  const wanted = Object.keys(target.headers ?? {});
  const matches = entries.filter((x) => x.url === target.url && sameHeaders(x.headerNames, wanted));
  const describe = (x: ClientEntry) => {
    const to = x.url ?? `an invalid URL ${JSON.stringify(x.rawUrl)}`;
    const from = x.urlFrom === 'default' ? ' (the default)' : x.urlFrom === 'APPWRITE_MCP_URL' ? ' (APPWRITE_MCP_URL in its env)' : '';
    const headers = x.headerNames.length ? `, headers ${x.headerNames.join(', ')}` : '';
    return `${matches.includes(x) ? '✓' : '·'} ${x.label}: "${x.name}" in ${x.file} → ${to}${from}${headers}`;
  };
  const detail = [
    ...entries.map(describe),
    ...unreadable.map((u) => `! ${u.label}: cannot read ${u.file}: ${u.error}`),
  ];
  const setupFix = `appwrite-mcp setup <client> --url ${target.url} (client: claude-desktop, claude-code, codex, cursor, vscode or windsurf)`;
  if (matches.length > 0) {
    const names = [...new Set(matches.map((m) => m.label))].join(', ');
    return ok('clients', `${matches.length} client config${matches.length === 1 ? '' : 's'} start${matches.length === 1 ? 's' : ''} appwrite-mcp for this server: ${names}`, { detail });
  }
  if (entries.length > 0) {
    return warn('clients', `${entries.length} client config${entries.length === 1 ? '' : 's'} start${entries.length === 1 ? 's' : ''} appwrite-mcp, but none for ${target.url}${wanted.length ? ` with the headers ${wanted.join(', ')}` : ''}`, { detail, fix: setupFix });
  }
  return warn('clients', 'no MCP client config on this machine starts appwrite-mcp', { detail, fix: setupFix });
}
