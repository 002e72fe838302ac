// Sets `[mcp_servers.<name>]` in Codex's config.toml. Only that table is touched: changed values are
// replaced in place, missing keys are added to the table, a new table is appended at the end of the
// file. Every other byte stays as it was. Shapes that cannot be edited that way (the server defined
// inline or with dotted keys elsewhere, an array of tables) are refused.
import { ConfigProblem, applyEdits, detectEol, lineIndent, type EditResult, type TextEdit } from './edit-result.js';
import { editResult, type Decision } from './decide.js';
import type { JsonObject, JsonValue } from './json-document.js';
import {
  TomlSyntaxError, parseTomlDocument, samePath, startsWith, tomlString,
  type TomlDocument, type TomlPair, type TomlValue,
} from './toml-document.js';

export interface TomlServerRequest {
  name: string;
  /** What to do with the server's table as it is (undefined: there is none). */
  decide(existing: JsonObject | undefined): Decision;
  printCommand: string;
}

type Scalar = string | string[];
const isScalar = (v: JsonValue | undefined): v is Scalar => typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
const render = (v: Scalar) => (typeof v === 'string' ? tomlString(v) : `[${v.map(tomlString).join(', ')}]`);
const keyName = (key: string[]) => key.map((k) => (/^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k))).join('.');
const equal = (a: TomlValue | undefined, b: Scalar): boolean =>
  typeof b === 'string' ? a === b : Array.isArray(a) && a.length === b.length && a.every((x, i) => x === b[i]);

function scalars(entry: JsonObject): Array<[string, Scalar]> {
  return Object.entries(entry).map(([k, v]) => {
    if (!isScalar(v)) throw new Error(`internal error: config.toml takes strings and string lists here, not ${JSON.stringify(v)}`);
    return [k, v];
  });
}

/** The table text for a new server (its keys: strings and string lists), each line ending with `eol`. */
export function tomlServerTable(name: string, entry: JsonObject, eol = '\n'): string {
  return `[mcp_servers.${name}]${eol}${scalars(entry).map(([k, v]) => `${keyName([k])} = ${render(v)}${eol}`).join('')}`;
}

interface ServerView {
  table?: { lineStart: number; lineEnd: number };
  own: TomlPair[];
  /** Each sub-table's section: [start, end), and its key names. */
  subSections: Array<{ start: number; end: number; name: string; keys: string[] }>;
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
    .map(({ h, i }) => ({
      start: h.lineStart, end: sectionEnd(i), name: keyName(h.path.slice(target.length)),
      keys: doc.pairs.filter((p) => samePath(p.table, h.path)).map((p) => keyName(p.key)),
    }));
  const own = doc.pairs.filter((p) => !p.tableIsArray && samePath(p.table, target));
  const table = tables[0];
  return { table: table && { lineStart: table.lineStart, lineEnd: sectionEnd(doc.headers.indexOf(table)) }, own, subSections };
}

const lastPair = (view: ServerView, key: string) => [...view.own].reverse().find((p) => samePath(p.key, [key]));

/** A value as setup needs to see it: strings and string lists as they are; tables by key names only. */
function plain(value: TomlValue): JsonValue {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(plain);
  return value.keys ? Object.fromEntries(value.keys.map((k) => [k, '…'])) : value.other;
}

/** The server's table as an object (sub-tables by key names only), for `decide`. */
function existingEntry(view: ServerView): JsonObject | undefined {
  if (!view.table) return undefined;
  const entry: JsonObject = {};
  for (const p of view.own) entry[keyName(p.key)] = plain(p.value);
  for (const s of view.subSections) entry[s.name] = Object.fromEntries(s.keys.map((k) => [k, '…']));
  return entry;
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
 * Sets `[mcp_servers.<name>]` in `text` (config.toml's content, empty when it does not exist) as
 * `req.decide` says. Throws ConfigProblem when the file does not parse or the server is in a shape
 * this does not edit.
 */
export function setTomlServer(text: string, req: TomlServerRequest): EditResult {
  const { name } = req;
  if (text.replace(/^\uFEFF/, '').trim() === '') {
    const decision = req.decide(undefined);
    if (decision.kind !== 'add') throw new Error('internal error: a new entry was not added');
    return editResult(decision, tomlServerTable(name, decision.entry), true);
  }
  let doc: TomlDocument;
  try {
    doc = parseTomlDocument(text);
  } catch (err) {
    if (!(err instanceof TomlSyntaxError)) throw err;
    throw new ConfigProblem(`${err.message}`, `Nothing was changed. Fix the file, or add the table by hand: ${req.printCommand} shows it.`);
  }
  const eol = detectEol(text);
  const view = viewServer(doc, name, req.printCommand);
  const decision = req.decide(existingEntry(view));
  if (decision.kind === 'unchanged') return decision;
  const edits: TextEdit[] = [];

  if (decision.kind === 'add') {
    const separator = /(\r?\n){2}$/.test(text) ? '' : text.endsWith('\n') ? eol : eol + eol;
    edits.push({ start: text.length, end: text.length, text: separator + tomlServerTable(name, decision.entry, eol) });
  } else if (decision.kind === 'update') {
    const missing: string[] = [];
    for (const [key, want] of scalars(decision.set)) {
      const pair = lastPair(view, key);
      if (!pair) missing.push(`${keyName([key])} = ${render(want)}${eol}`);
      else edits.push({ start: pair.valueStart, end: pair.valueEnd, text: typeof want === 'string' ? render(want) : renderArgs(text, pair, want, eol) });
    }
    if (missing.length) {
      const lastOwn = view.own[view.own.length - 1];
      const at = lastOwn ? lastOwn.lineEnd : headerLineEnd(text, view.table!.lineStart);
      const indent = lastOwn ? lineIndent(text, lastOwn.lineStart) : '';
      const needsNewline = at > 0 && text[at - 1] !== '\n';
      edits.push({ start: at, end: at, text: (needsNewline ? eol : '') + missing.map((l) => indent + l).join('') });
    }
  } else {
    const end = view.table!.lineEnd;
    const fresh = tomlServerTable(name, decision.entry, eol);
    // The section ends with its last line's newline, except at the end of a file that has none.
    edits.push({ start: view.table!.lineStart, end, text: text[end - 1] === '\n' ? fresh : fresh.slice(0, -eol.length) });
    for (const sub of view.subSections) edits.push({ start: sub.start, end: sub.end, text: '' });
  }

  const result = applyEdits(text, edits);
  verify(result, name, decision.kind === 'update' ? decision.set : decision.entry);
  return editResult(decision, result);
}

/** Offset just past the header line starting at `lineStart`. */
function headerLineEnd(text: string, lineStart: number): number {
  const nl = text.indexOf('\n', lineStart);
  return nl < 0 ? text.length : nl + 1;
}

/** The edited text must parse and hold exactly one table for the server, with the wanted values. */
function verify(result: string, name: string, wanted: JsonObject): void {
  let view: ServerView;
  try {
    view = viewServer(parseTomlDocument(result), name, '');
  } catch (err) {
    throw new Error(`internal error: the edited config.toml would not be valid (${(err as Error).message}); nothing was written`);
  }
  if (!view.table || !scalars(wanted).every(([k, v]) => equal(lastPair(view, k)?.value, v))) {
    throw new Error('internal error: the edited config.toml does not hold the expected table; nothing was written');
  }
}
