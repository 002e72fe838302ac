// What to do with the entry of a given name, whatever the file's format: add it, bring an
// appwrite-mcp entry up to date (merge.ts), replace another server's entry (only with --force), or
// leave it. Other servers' entries are described by names only: their env values, header values
// and arguments may be secrets, and setup never prints them.
import { ConfigProblem, type EditResult } from './edit-result.js';
import { runsAppwriteMcp, type ServerCommand } from './entry.js';
import type { EntryShape } from './entry-shapes.js';
import { isJsonObject, jsonEqual, type JsonObject } from './json-document.js';
import { freshServer, mergeServer, type Wanted } from './merge.js';

/** Each with `server`: the command line the entry runs afterwards. */
export type Decision =
  | { kind: 'unchanged'; server: ServerCommand; notes: string[] }
  | { kind: 'add'; server: ServerCommand; entry: JsonObject }
  /** `set`: the keys to set (changed command-line keys, missing defaults); every other key stays. */
  | { kind: 'update'; server: ServerCommand; set: JsonObject; changes: string[]; kept: string[]; keptFlags: string[]; notes: string[] }
  | { kind: 'replace'; server: ServerCommand; entry: JsonObject; changes: string[] };

export interface EntryRequest {
  name: string;
  shape: EntryShape;
  wanted: Wanted;
  /** For messages: where the entry is (`"mcpServers"`, `[mcp_servers.appwrite]`). */
  where: string;
}

const HIDDEN_VALUES = /^(env|envs|environment|headers|env_http|http_headers|env_vars)$/i;

/** An entry described for people by its command, flag names and key names: never a value that may be secret. */
export function describeEntry(value: unknown): string {
  if (!isJsonObject(value)) return Array.isArray(value) ? 'a list' : `a ${value === null ? 'null' : typeof value}`;
  const parts: string[] = [];
  const command = value.command ?? value.cmd;
  const words = Array.isArray(command) ? command : [command, ...(Array.isArray(value.args) ? value.args : [])];
  const [program, ...args] = words;
  if (typeof program === 'string') parts.push(`command ${JSON.stringify(program)}`);
  if (args.length) {
    const flags = [...new Set(args.filter((a): a is string => typeof a === 'string' && /^-{1,2}[A-Za-z]/.test(a)).map((a) => a.split('=')[0]!))];
    parts.push(`${args.length} argument${args.length === 1 ? '' : 's'}${flags.length ? ` (flags ${flags.join(' ')})` : ''}`);
  }
  for (const key of ['url', 'uri', 'httpUrl', 'serverUrl']) {
    const url = value[key];
    if (typeof url === 'string') parts.push(`${key} ${/^https?:\/\/[^/?#@]+/i.exec(url)?.[0] ?? 'of another form'}/…`);
  }
  for (const [key, v] of Object.entries(value)) {
    if (HIDDEN_VALUES.test(key) && isJsonObject(v) && Object.keys(v).length) parts.push(`${key} ${Object.keys(v).join(', ')}`);
  }
  const described = new Set(['command', 'cmd', 'args', 'url', 'uri', 'httpUrl', 'serverUrl']);
  const others = Object.keys(value).filter((k) => !described.has(k) && !HIDDEN_VALUES.test(k));
  if (others.length) parts.push(`keys ${others.join(', ')}`);
  return parts.join('; ') || 'an empty entry';
}

export function decide(existing: unknown, req: EntryRequest): Decision {
  const { name, shape, wanted } = req;
  const fresh = freshServer(wanted);
  if (existing === undefined) return { kind: 'add', server: fresh, entry: shape.fresh(fresh, name) };
  const entry = isJsonObject(existing) ? existing : undefined;
  if (entry && !Object.keys(entry).length) {
    // An empty entry of that name (`"appwrite": {}`, a bare [mcp_servers.appwrite]): filled in.
    return { kind: 'update', server: fresh, set: shape.fresh(fresh, name), changes: ['filled in the empty entry'], kept: [], keptFlags: [], notes: [] };
  }
  const line = entry ? shape.read(entry) : {};
  if (entry && runsAppwriteMcp(line.command, line.args)) return update(entry, line, req);
  if (!wanted.force) {
    throw new ConfigProblem(
      `${req.where} already has an entry named "${name}" that runs something else (${describeEntry(existing)})`,
      'Nothing was changed. Add appwrite-mcp under another name with --name <name>, or replace that entry with --force (a backup of the file is kept).',
    );
  }
  return { kind: 'replace', server: fresh, entry: shape.fresh(fresh, name), changes: [`replaced an entry with ${describeEntry(existing)}`] };
}

function update(entry: JsonObject, line: ReturnType<EntryShape['read']>, req: EntryRequest): Decision {
  // A missing command is added (the args alone may start appwrite-mcp: `args = ["-y", "appwrite-mcp"]`).
  const words = [...(line.command === undefined ? [] : [line.command]), ...(Array.isArray(line.args) ? line.args : line.args === undefined ? [] : [line.args])];
  if (!words.every((w): w is string => typeof w === 'string')) {
    throw new ConfigProblem(`the entry "${req.name}" starts appwrite-mcp, but its command or arguments are not all strings`, 'Nothing was changed. Fix the entry by hand, or replace it with --force.');
  }
  const merged = mergeServer(words, req.wanted);
  const want = req.shape.fresh(merged.server, req.name);
  const set: JsonObject = {};
  const added: string[] = [];
  for (const [key, value] of Object.entries(want)) {
    if (req.shape.owned.includes(key)) {
      if (!jsonEqual(entry[key], value)) set[key] = value;
    } else if (!(key in entry)) {
      set[key] = value;
      added.push(`added ${key}: ${JSON.stringify(value)}`);
    }
  }
  if (!Object.keys(set).length) return { kind: 'unchanged', server: merged.server, notes: merged.notes };
  // Kept: what the user has that setup would not write so (their env, a tool list, enabled: false).
  const kept = Object.keys(entry).filter((k) => !req.shape.owned.includes(k) && !(k in set) && !jsonEqual(entry[k], want[k]));
  return { kind: 'update', server: merged.server, set, changes: [...merged.changes, ...added], kept, keptFlags: merged.keptFlags, notes: merged.notes };
}

/** The result of applying `decision` (anything but `unchanged`) to a file, as `text`. */
export function editResult(decision: Exclude<Decision, { kind: 'unchanged' }>, text: string, created = false): EditResult {
  const { server } = decision;
  if (decision.kind === 'update') return { kind: 'updated', server, text, changes: decision.changes, kept: decision.kept, keptFlags: decision.keptFlags, notes: decision.notes };
  if (decision.kind === 'replace') return { kind: 'replaced', server, text, changes: decision.changes, kept: [], keptFlags: [], notes: [] };
  return { kind: created ? 'created' : 'added', server, text, changes: [], kept: [], keptFlags: [], notes: [] };
}
