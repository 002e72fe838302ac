// Sets one server entry in a JSON (or JSONC) client config, changing as few bytes as it can: new
// properties are inserted in the file's own indentation and line endings, changed values are
// replaced in place, everything else (other servers, unknown keys, comments, key order) is left
// byte for byte. The result is parsed again and checked before it is handed back.
import { ConfigProblem, applyEdits, detectEol, firstOnLine, lineIndent, type EditResult, type TextEdit } from './edit-result.js';
import { editResult, type Decision } from './decide.js';
import {
  JsonSyntaxError, findProperty, isJsonObject, jsonEqual, parseJsonDocument,
  type JsonNode, type JsonObject, type JsonObjectNode, type JsonValue,
} from './json-document.js';

export interface JsonEntryRequest {
  /** The key that maps names to servers: `mcpServers`, `servers` (VS Code), `context_servers` (Zed), `mcp` (OpenCode). */
  containerKey: string;
  name: string;
  /** Accept comments and trailing commas (VS Code, Zed, Gemini CLI, OpenCode). */
  jsonc: boolean;
  /** What to do with the entry as it is (undefined: there is none). */
  decide(existing: JsonValue | undefined): Decision;
  /** For messages: the flag that prints the snippet to add by hand. */
  printCommand: string;
}

interface Style {
  eol: string;
  unit: string;
  multiline: boolean;
}

function detectStyle(text: string): Style {
  // The first indented property name (not, say, the " * " of a block comment above the document).
  const indented = /^([ \t]+)"/m.exec(text);
  return { eol: detectEol(text), unit: indented ? indented[1]! : '  ', multiline: text.includes('\n') };
}

/** Renders a value the way people write configs: objects one key a line, arrays of scalars on one line. */
export function renderJson(value: JsonValue, style: Style, indent: string): string {
  if (!style.multiline) return JSON.stringify(value);
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) return `[${value.map((v) => JSON.stringify(v)).join(', ')}]`;
    const inner = indent + style.unit;
    return `[${value.map((v) => `${style.eol}${inner}${renderJson(v, style, inner)}`).join(',')}${style.eol}${indent}]`;
  }
  if (isJsonObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0) return '{}';
    const inner = indent + style.unit;
    return `{${keys.map((k) => `${style.eol}${inner}${JSON.stringify(k)}: ${renderJson(value[k]!, style, inner)}`).join(',')}${style.eol}${indent}}`;
  }
  return JSON.stringify(value);
}

/** A fresh file holding only the entry. */
export function newJsonDocument(containerKey: string, name: string, fields: { [key: string]: JsonValue }): string {
  return `${renderJson({ [containerKey]: { [name]: fields } }, { eol: '\n', unit: '  ', multiline: true }, '')}\n`;
}

/** Edits that add `entries` as new properties at the end of `obj`. */
function insertProperties(text: string, obj: JsonObjectNode, entries: Array<[string, JsonValue]>, style: Style): TextEdit[] {
  const close = obj.end - 1;
  let at = close;
  while (at > obj.start + 1 && /[ \t\r\n]/.test(text[at - 1]!)) at--;
  const first = obj.props[0];
  const childIndent = first && firstOnLine(text, first.keyStart) ? lineIndent(text, first.keyStart) : lineIndent(text, obj.start) + style.unit;
  const prop = ([k, v]: [string, JsonValue]) => style.multiline ? `${style.eol}${childIndent}${JSON.stringify(k)}: ${renderJson(v, style, childIndent)}` : `${JSON.stringify(k)}:${JSON.stringify(v)}`;
  const body = entries.map(prop).join(',');
  const last = obj.props[obj.props.length - 1];
  if (!last) {
    const closeOnOwnLine = text.slice(at, close).includes('\n');
    return [{ start: at, end: at, text: body + (style.multiline && !closeOnOwnLine ? `${style.eol}${lineIndent(text, obj.start)}` : '') }];
  }
  if (obj.trailingComma) return [{ start: at, end: at, text: `${body},` }];
  if (at === last.value.end) return [{ start: at, end: at, text: `,${body}` }];
  return [{ start: last.value.end, end: last.value.end, text: ',' }, { start: at, end: at, text: body }];
}

/** Replacement text for an existing value, keeping a multi-line array multi-line. */
function renderReplacement(text: string, node: JsonNode, value: JsonValue, keyStart: number, style: Style): string {
  const wasMultiline = text.slice(node.start, node.end).includes('\n');
  if (Array.isArray(value) && wasMultiline && style.multiline && value.length > 0) {
    const propIndent = lineIndent(text, keyStart);
    const firstItem = node.kind === 'array' ? node.items[0] : undefined;
    const itemIndent = firstItem && firstOnLine(text, firstItem.start) ? lineIndent(text, firstItem.start) : propIndent + style.unit;
    return `[${value.map((v) => `${style.eol}${itemIndent}${JSON.stringify(v)}`).join(',')}${style.eol}${propIndent}]`;
  }
  return renderJson(value, style, lineIndent(text, keyStart));
}

/**
 * Sets `containerKey.name` in `text` (the file's content; empty when it does not exist) as
 * `req.decide` says. Throws ConfigProblem when the file does not parse or has a shape this does
 * not edit.
 */
export function setJsonEntry(text: string, req: JsonEntryRequest): EditResult {
  const { containerKey, name } = req;
  if (text.replace(/^\uFEFF/, '').trim() === '') {
    const decision = req.decide(undefined);
    if (decision.kind !== 'add') throw new Error('internal error: a new entry was not added');
    return editResult(decision, newJsonDocument(containerKey, name, decision.entry), true);
  }

  let root: JsonNode;
  try {
    root = parseJsonDocument(text, { jsonc: req.jsonc });
  } catch (err) {
    if (!(err instanceof JsonSyntaxError)) throw err;
    const plain = !req.jsonc && /comments|trailing comma/.test(err.reason) ? ' (this client reads the file as plain JSON)' : '';
    throw new ConfigProblem(`${err.message}${plain}`, `Nothing was changed. Fix the file, or add the entry by hand: ${req.printCommand} shows it.`);
  }
  if (root.kind !== 'object') throw new ConfigProblem('the top level is not a JSON object', `Nothing was changed. The file should look like {"${containerKey}": {…}}; fix it or move it away.`);

  const style = detectStyle(text);
  const containerProp = findProperty(root, containerKey);
  if (containerProp && containerProp.value.kind !== 'object') {
    throw new ConfigProblem(`"${containerKey}" is not a JSON object`, `Nothing was changed. "${containerKey}" should map server names to entries; fix it by hand.`);
  }
  const container = containerProp?.value as JsonObjectNode | undefined;
  const entryProp = container && findProperty(container, name);
  const decision = req.decide(entryProp?.value.value);
  if (decision.kind === 'unchanged') return decision;

  const edits: TextEdit[] = [];
  if (decision.kind === 'add') {
    edits.push(...(container ? insertProperties(text, container, [[name, decision.entry]], style) : insertProperties(text, root, [[containerKey, { [name]: decision.entry }]], style)));
  } else if (decision.kind === 'replace') {
    edits.push({ start: entryProp!.value.start, end: entryProp!.value.end, text: renderJson(decision.entry, style, lineIndent(text, entryProp!.keyStart)) });
  } else {
    const existing = entryProp!.value as JsonObjectNode;
    const missing: Array<[string, JsonValue]> = [];
    for (const [k, v] of Object.entries(decision.set)) {
      const prop = findProperty(existing, k);
      if (!prop) missing.push([k, v]);
      else edits.push({ start: prop.value.start, end: prop.value.end, text: renderReplacement(text, prop.value, v, prop.keyStart, style) });
    }
    if (missing.length) edits.push(...insertProperties(text, existing, missing, style));
  }

  const result = applyEdits(text, edits);
  verify(result, root.value as JsonObject, decision, req);
  return editResult(decision, result);
}

/** The edited text must parse, and equal the original document with only the entry changed as decided. */
function verify(result: string, before: JsonObject, decision: Exclude<Decision, { kind: 'unchanged' }>, req: JsonEntryRequest): void {
  const expected = structuredClone(before);
  const container = isJsonObject(expected[req.containerKey]) ? (expected[req.containerKey] as JsonObject) : {};
  const entry = decision.kind === 'update' ? { ...(container[req.name] as JsonObject), ...decision.set } : decision.entry;
  // defineProperty: a name such as "__proto__" is data, as JSON.parse makes it.
  Object.defineProperty(container, req.name, { value: entry, enumerable: true, writable: true, configurable: true });
  Object.defineProperty(expected, req.containerKey, { value: container, enumerable: true, writable: true, configurable: true });
  let after: JsonValue;
  try {
    after = parseJsonDocument(result, { jsonc: req.jsonc }).value;
  } catch (err) {
    throw new Error(`internal error: the edited file would not parse (${(err as Error).message}); nothing was written`);
  }
  if (!jsonEqual(after, expected)) throw new Error('internal error: the edit changed more than the entry; nothing was written');
}
