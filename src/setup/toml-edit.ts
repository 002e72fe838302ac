// Sets `[mcp_servers.<name>]` (command, args) in Codex's config.toml. Only that table is touched:
// changed values are replaced in place, missing keys are added to the table, a new table is
// appended at the end of the file. Every other byte stays as it was. Shapes that cannot be edited
// that way (the server defined inline or with dotted keys elsewhere, an array of tables) are refused.
import { ConfigProblem, applyEdits, detectEol, lineIndent, type EditResult, type TextEdit } from './edit-result.js';
import { runsAppwriteMcp, type ServerCommand } from './entry.js';
import {
  TomlSyntaxError, parseTomlDocument, samePath, startsWith, tomlString,
  type TomlDocument, type TomlPair, type TomlValue,
} from './toml-document.js';

export interface TomlServerRequest {
  name: string;
  server: ServerCommand;
  force: boolean;
  printCommand: string;
}

const render = (v: string | string[]) => (typeof v === 'string' ? tomlString(v) : `[${v.map(tomlString).join(', ')}]`);
const show = (v: TomlValue | undefined) => (v === undefined ? '(none)' : typeof v === 'object' && !Array.isArray(v) ? v.other : JSON.stringify(v));
const keyName = (key: string[]) => key.map((k) => (/^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k))).join('.');
const equal = (a: TomlValue | undefined, b: string | string[]): boolean =>
  typeof b === 'string' ? a === b : Array.isArray(a) && a.length === b.length && a.every((x, i) => x === b[i]);

/** The table text for a new server, each line ending with `eol`. */
export function tomlServerTable(name: string, server: ServerCommand, eol = '\n'): string {
  return `[mcp_servers.${name}]${eol}command = ${render(server.command)}${eol}args = ${render(server.args)}${eol}`;
}

interface ServerView {
  table?: { lineStart: number; lineEnd: number };
  own: TomlPair[];
  /** Each sub-table's section: [start, end). */
  subSections: Array<{ start: number; end: number; name: string }>;
  command?: TomlPair;
  args?: TomlPair;
}

/** Finds the server's table and pairs; throws ConfigProblem for shapes this does not edit. */
function viewServer(doc: TomlDocument, name: string, printCommand: string): ServerView {
  const target = ['mcp_servers', name];
  const byHand = `Nothing was changed. Edit the file by hand (${printCommand} shows the table to use).`;
  for (const h of doc.headers) {
    if (h.array && (startsWith(target, h.path) || startsWith(h.path, target))) {
      throw new ConfigProblem(`[[${keyName(h.path)}]] is an array of tables, where Codex expects [mcp_servers.<name>] tables`, byHand);
    }
  }
  for (const p of doc.pairs) {
    const full = [...p.table, ...p.key];
    if (startsWith(target, full) || (startsWith(full, target) && !startsWith(p.table, target))) {
      const where = p.table.length ? ` in [${keyName(p.table)}]` : '';
      throw new ConfigProblem(`the server "${name}" is defined by the key ${keyName(p.key)}${where}, not by its own [mcp_servers.${name}] table`, byHand);
    }
  }
  const tables = doc.headers.filter((h) => !h.array && samePath(h.path, target));
  if (tables.length > 1) throw new ConfigProblem(`[mcp_servers.${name}] is defined more than once`, 'Nothing was changed. Codex would refuse this file too: remove one of them.');
  const sectionEnd = (i: number) => {
    const h = doc.headers[i]!;
    const next = doc.headers[i + 1]?.lineStart ?? Infinity;
    const inside = doc.pairs.filter((p) => p.lineStart >= h.lineEnd && p.lineStart < next);
    return Math.max(h.lineEnd, ...inside.map((p) => p.lineEnd));
  };
  const subSections = doc.headers
    .map((h, i) => ({ h, i }))
    .filter(({ h }) => startsWith(h.path, target) && h.path.length > target.length)
    .map(({ h, i }) => ({ start: h.lineStart, end: sectionEnd(i), name: keyName(h.path.slice(target.length)) }));
  const own = doc.pairs.filter((p) => !p.tableIsArray && samePath(p.table, target));
  const last = (key: string) => [...own].reverse().find((p) => samePath(p.key, [key]));
  const table = tables[0];
  return { table: table && { lineStart: table.lineStart, lineEnd: sectionEnd(doc.headers.indexOf(table)) }, own, subSections, command: last('command'), args: last('args') };
}

/** Replacement text for an args value, keeping a multi-line array multi-line. */
function renderArgs(text: string, pair: TomlPair, args: string[], eol: string): string {
  if (!text.slice(pair.valueStart, pair.valueEnd).includes('\n') || args.length === 0) return render(args);
  const keyIndent = lineIndent(text, pair.lineStart);
  const firstItem = /\[[ \t]*(?:#[^\n]*)?\r?\n([ \t]*)/.exec(text.slice(pair.valueStart, pair.valueEnd));
  const itemIndent = firstItem ? firstItem[1]! : `${keyIndent}  `;
  return `[${args.map((a) => `${eol}${itemIndent}${tomlString(a)},`).join('')}${eol}${keyIndent}]`;
}

/**
 * Sets `[mcp_servers.<name>]` to run `server` in `text` (config.toml's content, empty when it does
 * not exist). Throws ConfigProblem when the file does not parse or the server is in a shape this does
 * not edit.
 */
export function setTomlServer(text: string, req: TomlServerRequest): EditResult {
  const { name, server } = req;
  if (text.replace(/^\uFEFF/, '').trim() === '') return { kind: 'created', text: tomlServerTable(name, server), changes: [], kept: [] };
  let doc: TomlDocument;
  try {
    doc = parseTomlDocument(text);
  } catch (err) {
    if (!(err instanceof TomlSyntaxError)) throw err;
    throw new ConfigProblem(`${err.message}`, `Nothing was changed. Fix the file, or add the table by hand: ${req.printCommand} shows it.`);
  }
  const eol = detectEol(text);
  const view = viewServer(doc, name, req.printCommand);
  const edits: TextEdit[] = [];
  let kind: 'added' | 'updated' | 'replaced';
  const changes: string[] = [];
  const kept: string[] = [];

  if (!view.table) {
    kind = 'added';
    const separator = /(\r?\n){2}$/.test(text) ? '' : text.endsWith('\n') ? eol : eol + eol;
    edits.push({ start: text.length, end: text.length, text: separator + tomlServerTable(name, server, eol) });
  } else {
    const current = { command: view.command?.value, args: view.args?.value };
    if (equal(current.command, server.command) && equal(current.args, server.args)) return { kind: 'unchanged' };
    const ours = runsAppwriteMcp(current.command, current.args) || view.own.length === 0;
    if (!ours && !req.force) {
      const runs = view.own.map((p) => `${keyName(p.key)} = ${text.slice(p.valueStart, p.valueEnd)}`).join(', ');
      throw new ConfigProblem(
        `[mcp_servers.${name}] already exists and runs something else (${runs})`,
        'Nothing was changed. Add appwrite-mcp under another name with --name <name>, or replace that table with --force (a backup of the file is kept).',
      );
    }
    if (ours) {
      kind = 'updated';
      const missing: string[] = [];
      for (const [key, want] of [['command', server.command], ['args', server.args]] as const) {
        const pair = key === 'command' ? view.command : view.args;
        if (!pair) missing.push(`${key} = ${render(want)}${eol}`);
        else if (!equal(pair.value, want)) edits.push({ start: pair.valueStart, end: pair.valueEnd, text: typeof want === 'string' ? render(want) : renderArgs(text, pair, want, eol) });
        if (!equal(pair?.value, want)) changes.push(`${key}: ${show(pair?.value)} → ${JSON.stringify(want)}`);
      }
      if (missing.length) {
        const lastOwn = view.own[view.own.length - 1];
        const at = lastOwn ? lastOwn.lineEnd : headerLineEnd(text, view.table.lineStart);
        const indent = lastOwn ? lineIndent(text, lastOwn.lineStart) : '';
        const needsNewline = at > 0 && text[at - 1] !== '\n';
        edits.push({ start: at, end: at, text: (needsNewline ? eol : '') + missing.map((l) => indent + l).join('') });
      }
      kept.push(...view.own.filter((p) => !samePath(p.key, ['command']) && !samePath(p.key, ['args'])).map((p) => keyName(p.key)));
      kept.push(...view.subSections.map((s) => s.name));
    } else {
      kind = 'replaced';
      changes.push(`replaced ${view.own.map((p) => `${keyName(p.key)} = ${text.slice(p.valueStart, p.valueEnd)}`).join(', ')}${view.subSections.length ? ` and its sub-tables ${view.subSections.map((s) => s.name).join(', ')}` : ''}`);
      const end = view.table.lineEnd;
      const fresh = tomlServerTable(name, server, eol);
      // The section ends with its last line's newline, except at the end of a file that has none.
      edits.push({ start: view.table.lineStart, end, text: text[end - 1] === '\n' ? fresh : fresh.slice(0, -eol.length) });
      for (const s of view.subSections) edits.push({ start: s.start, end: s.end, text: '' });
    }
  }

  const result = applyEdits(text, edits);
  verify(result, name, server);
  return { kind, text: result, changes, kept };
}

/** Offset just past the header line starting at `lineStart`. */
function headerLineEnd(text: string, lineStart: number): number {
  const nl = text.indexOf('\n', lineStart);
  return nl < 0 ? text.length : nl + 1;
}

/** The edited text must parse and hold exactly one table for the server, with the wanted values. */
function verify(result: string, name: string, server: ServerCommand): void {
  let view: ServerView;
  try {
    view = viewServer(parseTomlDocument(result), name, '');
  } catch (err) {
    throw new Error(`internal error: the edited config.toml would not be valid (${(err as Error).message}); nothing was written`);
  }
  if (!view.table || !equal(view.command?.value, server.command) || !equal(view.args?.value, server.args)) {
    throw new Error('internal error: the edited config.toml does not hold the expected table; nothing was written');
  }
}
