// Sets one entry under a top-level key of a YAML config (Goose's `extensions`), changing as few bytes
// as it can: the `yaml` package (eemeli/yaml, a full YAML 1.2 parser) finds where each node sits in
// the text, and the edit is a splice there, so comments, key order, quoting and blank lines stay as
// they were. Shapes that cannot be edited that way (flow-style maps, aliases, several documents) are
// refused. The result is parsed again and must equal the original plus the entry.
import { parseAllDocuments, isAlias, isMap, isScalar, isSeq, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import { ConfigProblem, applyEdits, detectEol, type EditResult, type TextEdit } from './edit-result.js';
import { editResult, type Decision } from './decide.js';
import { isJsonObject, jsonEqual, type JsonObject, type JsonValue } from './json-document.js';

export interface YamlEntryRequest {
  containerKey: string;
  name: string;
  decide(existing: JsonValue | undefined): Decision;
  printCommand: string;
}

const PLAIN = /^[A-Za-z_][\w./@-]*$/;
const RESERVED = /^(true|false|yes|no|on|off|null|y|n)$/i;

/** A scalar or a list of scalars, as YAML: plain words where they read back the same, else JSON strings (valid YAML). */
function scalar(value: JsonValue): string {
  if (typeof value === 'string') return PLAIN.test(value) && !RESERVED.test(value) ? value : JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => (typeof v === 'string' ? JSON.stringify(v) : scalar(v))).join(', ')}]`;
  if (isJsonObject(value)) return Object.keys(value).length ? JSON.stringify(value) : '{}';
  return JSON.stringify(value);
}

/** `name:` and its fields as block lines at `indent` (fields one `unit` deeper), each ending with `eol`. */
function block(name: string, entry: JsonObject, indent: string, unit: string, eol: string): string {
  return `${indent}${name}:${eol}${Object.entries(entry).map(([k, v]) => `${indent}${unit}${k}: ${scalar(v)}${eol}`).join('')}`;
}

const range = (node: Node | null | undefined) => node?.range ?? [0, 0, 0];
const lineStart = (text: string, at: number) => text.lastIndexOf('\n', at - 1) + 1;
/** Just past the line that holds `at` (after its newline). */
const lineEnd = (text: string, at: number) => (text[at - 1] === '\n' ? at : (i => (i < 0 ? text.length : i + 1))(text.indexOf('\n', at)));
/** `at` moved back over the trailing newlines and spaces a block node's range includes. */
const trimEnd = (text: string, at: number) => {
  while (at > 0 && /\s/.test(text[at - 1]!)) at--;
  return at;
};

function keyOf(map: YAMLMap, key: string): Pair<Node, Node | null> | undefined {
  return (map.items as Array<Pair<Node, Node | null>>).find((p) => isScalar(p.key) && p.key.value === key);
}

function parse(text: string, req: YamlEntryRequest): Document {
  const docs = parseAllDocuments(text);
  const byHand = `Nothing was changed. Fix the file, or add the entry by hand: ${req.printCommand} shows it.`;
  if (!Array.isArray(docs)) return docs as never; // an empty stream: handled by the caller
  if (docs.length > 1) throw new ConfigProblem('the file holds several YAML documents', byHand);
  const error = docs[0]?.errors[0];
  if (error) {
    const at = error.linePos?.[0];
    throw new ConfigProblem(`${at ? `line ${at.line}, column ${at.col}: ` : ''}${error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`, byHand);
  }
  return docs[0]!;
}

/**
 * Sets `containerKey.name` in `text` (the file's content, empty when it does not exist) as
 * `req.decide` says. Throws ConfigProblem when the file does not parse or has a shape this does
 * not edit.
 */
export function setYamlEntry(text: string, req: YamlEntryRequest): EditResult {
  const { containerKey, name } = req;
  const eol = detectEol(text);
  const byHand = `Nothing was changed. Edit the file by hand (${req.printCommand} shows the entry).`;
  const doc = text.replace(/^\uFEFF/, '').trim() === '' ? undefined : parse(text, req);
  const root = doc?.contents ?? null;
  if (root !== null && (!isMap(root) || root.flow)) throw new ConfigProblem('the top level is not a block mapping', byHand);
  const containerPair = root ? keyOf(root, containerKey) : undefined;
  const container = containerPair?.value ?? null;
  if (isAlias(container) || (container !== null && !(isMap(container) || (isScalar(container) && container.value === null)))) {
    throw new ConfigProblem(`"${containerKey}" is not a mapping of names to entries`, byHand);
  }
  if (isMap(container) && container.flow && container.items.length) throw new ConfigProblem(`"${containerKey}" is written in flow style ({ … })`, byHand);
  const entryPair = isMap(container) ? keyOf(container, name) : undefined;
  if (isAlias(entryPair?.value) || (isMap(entryPair?.value) && entryPair.value.flow)) throw new ConfigProblem(`the entry "${name}" is an alias or written in flow style`, byHand);
  const before = (doc?.toJS() ?? {}) as JsonObject;
  const existing = isJsonObject(before[containerKey]) ? (before[containerKey] as JsonObject)[name] : undefined;
  const decision = req.decide(existing);
  if (decision.kind === 'unchanged') return decision;

  const edits: TextEdit[] = [];
  const firstEntryKey = isMap(container) ? (container.items[0] as Pair<Node> | undefined)?.key : undefined;
  const containerIndent = containerPair ? range(containerPair.key)[0] - lineStart(text, range(containerPair.key)[0]) : 0;
  const entryIndent = firstEntryKey ? range(firstEntryKey)[0] - lineStart(text, range(firstEntryKey)[0]) : containerIndent + 2;
  const unit = ' '.repeat(Math.max(2, entryIndent - containerIndent));
  const entryText = (entry: JsonObject) => block(name, entry, ' '.repeat(entryIndent), unit, eol);

  if (decision.kind === 'add' && !containerPair) {
    const sep = text === '' || text.endsWith('\n') ? '' : eol;
    edits.push({ start: text.length, end: text.length, text: `${sep}${containerKey}:${eol}${entryText(decision.entry)}` });
  } else if (decision.kind === 'add' && (!isMap(container) || !container.items.length)) {
    // `extensions:` with nothing, or `extensions: {}`: the entry goes on the lines after the key.
    if (isMap(container)) edits.push({ start: range(container)[0], end: range(container)[1], text: '' });
    edits.push({ start: lineEnd(text, range(containerPair!.key)[1]), end: lineEnd(text, range(containerPair!.key)[1]), text: entryText(decision.entry) });
  } else if (decision.kind === 'add') {
    const items = (container as YAMLMap).items;
    const last = items[items.length - 1] as Pair<Node, Node | null>;
    const at = lineEnd(text, trimEnd(text, range(last.value ?? last.key)[1]));
    edits.push({ start: at, end: at, text: (at === text.length && !text.endsWith('\n') ? eol : '') + entryText(decision.entry) });
  } else {
    const pair = entryPair!;
    const start = lineStart(text, range(pair.key)[0]);
    if (decision.kind === 'replace') {
      edits.push({ start, end: lineEnd(text, trimEnd(text, range(pair.value ?? pair.key)[1])), text: entryText(decision.entry) });
    } else {
      edits.push(...updateEntry(text, pair, decision.set, eol, unit));
    }
  }
  const result = applyEdits(text, edits);
  verify(result, before, decision, req);
  return editResult(decision, result, !doc);
}

/** Edits that set `set`'s keys in the block map of `pair`: values replaced where they are, new keys after the last. */
function updateEntry(text: string, pair: Pair<Node, Node | null>, set: JsonObject, eol: string, unit: string): TextEdit[] {
  const entry = pair.value;
  if (!isMap(entry)) throw new ConfigProblem('the entry is not a mapping', 'Nothing was changed. Fix it by hand, or replace it with --force.');
  const keyColumn = (node: Node) => range(node)[0] - lineStart(text, range(node)[0]);
  const first = (entry.items[0] as Pair<Node> | undefined)?.key;
  const indent = first ? ' '.repeat(keyColumn(first)) : ' '.repeat(keyColumn(pair.key as Node)) + unit;
  const edits: TextEdit[] = [];
  const missing: string[] = [];
  for (const [key, value] of Object.entries(set)) {
    const p = keyOf(entry, key);
    if (!p) {
      missing.push(`${indent}${key}: ${scalar(value)}${eol}`);
      continue;
    }
    const node = p.value;
    const s = node ? range(node)[0] : range(p.key)[1] + 1;
    const e = node ? Math.max(s, trimEnd(text, range(node)[1])) : s;
    if (s === e) {
      // `key:` with no value: the value goes after the colon.
      edits.push({ start: s, end: s, text: ` ${scalar(value)}` });
    } else if (isSeq(node) && !node.flow && Array.isArray(value) && value.length) {
      // A block list stays a block list, its items at the same column.
      const column = ' '.repeat(s - lineStart(text, s));
      edits.push({ start: s, end: e, text: value.map((v) => `- ${scalar(v)}`).join(`${eol}${column}`) });
    } else {
      edits.push({ start: s, end: e, text: scalar(value) });
    }
  }
  if (missing.length) {
    const last = entry.items[entry.items.length - 1] as Pair<Node, Node | null>;
    const at = lineEnd(text, trimEnd(text, range(last.value ?? last.key)[1]));
    edits.push({ start: at, end: at, text: (at === text.length && !text.endsWith('\n') ? eol : '') + missing.join('') });
  }
  return edits;
}

/** The edited text must parse, and equal the original document with only the entry changed as decided. */
function verify(result: string, before: JsonObject, decision: Exclude<Decision, { kind: 'unchanged' }>, req: YamlEntryRequest): void {
  const expected = structuredClone(before);
  const container = isJsonObject(expected[req.containerKey]) ? (expected[req.containerKey] as JsonObject) : {};
  container[req.name] = decision.kind === 'update' ? { ...(container[req.name] as JsonObject), ...decision.set } : decision.entry;
  expected[req.containerKey] = container;
  const docs = parseAllDocuments(result);
  const after = Array.isArray(docs) && docs.length === 1 && !docs[0]!.errors.length ? docs[0]!.toJS() : undefined;
  if (after === undefined) throw new Error('internal error: the edited YAML would not parse; nothing was written');
  if (!jsonEqual(after, expected)) throw new Error('internal error: the edit changed more than the entry; nothing was written');
}
