// Edits to the JSON text of a message without parsing and re-serializing all of it: the few members
// a protocol adaptation adds, removes or replaces (an envelope in `params._meta`, `resultType` in a
// result, a response's `id`) are found by scanning the object's direct members; nested values are
// skipped with native string searches, so a multi-megabyte argument costs a scan, not a copy per edit.
// The input must be valid JSON (every line the proxy handles has been parsed once already).

/** One direct member of an object: `"key": value`, with the value's span. */
export interface Member {
  key: string;
  /** Index of the key's opening quote. */
  start: number;
  valueStart: number;
  /** Index just after the value. */
  valueEnd: number;
}

const STRUCTURE = /["{}[\]]/g;
const LITERAL_END = /[\s,}\]]/g;

function skipWhitespace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
    else return i;
  }
}

/** `text[i]` is `"`: the index just after the closing quote. */
function skipString(text: string, i: number): number {
  let j = i;
  for (;;) {
    j = text.indexOf('"', j + 1);
    if (j === -1) throw new SyntaxError('unterminated string');
    let backslashes = 0;
    for (let k = j - 1; text.charCodeAt(k) === 0x5c; k--) backslashes++;
    if (backslashes % 2 === 0) return j + 1;
  }
}

/** The index just after the value starting at `i`. */
export function skipValue(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return skipString(text, i);
  if (c !== '{' && c !== '[') {
    LITERAL_END.lastIndex = i;
    const m = LITERAL_END.exec(text);
    return m ? m.index : text.length;
  }
  let depth = 0;
  STRUCTURE.lastIndex = i;
  for (;;) {
    const m = STRUCTURE.exec(text);
    if (!m) throw new SyntaxError('unterminated value');
    const ch = m[0];
    if (ch === '"') {
      STRUCTURE.lastIndex = skipString(text, m.index);
    } else if (ch === '{' || ch === '[') {
      depth++;
    } else if (--depth === 0) {
      return m.index + 1;
    }
  }
}

/** The direct members of the object whose `{` is at `start`, in order; stops after `until` when given. */
export function members(text: string, start: number, until?: string): Member[] {
  if (text[start] !== '{') throw new SyntaxError(`no object at ${start}`);
  const out: Member[] = [];
  let i = skipWhitespace(text, start + 1);
  if (text[i] === '}') return out;
  for (;;) {
    const keyEnd = skipString(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    let j = skipWhitespace(text, keyEnd);
    j = skipWhitespace(text, j + 1); // the colon
    if (key === until) {
      // Found: its value's end is not needed (and may be the one large value in the message).
      out.push({ key, start: i, valueStart: j, valueEnd: -1 });
      return out;
    }
    const valueEnd = skipValue(text, j);
    out.push({ key, start: i, valueStart: j, valueEnd });
    i = skipWhitespace(text, valueEnd);
    if (text[i] === '}') return out;
    i = skipWhitespace(text, i + 1); // the comma
  }
}

/** The member `key` of the object at `start`, or undefined (its valueEnd is not computed). */
export function member(text: string, start: number, key: string): Member | undefined {
  const found = members(text, start, key).at(-1);
  return found?.key === key ? found : undefined;
}

/** The object at the top of `text`: where its `{` is. */
export function topLevel(text: string): number {
  return skipWhitespace(text, 0);
}

export interface ObjectEdit {
  /** Members to drop. */
  remove?: readonly string[];
  /** Members to set, as raw JSON text: replaced where present, else added at the start. */
  set?: Record<string, string>;
}

/** The text with the object at `start` edited; everything outside that object is kept byte for byte. */
export function editObject(text: string, start: number, edit: ObjectEdit, all: Member[] = members(text, start)): string {
  const set = edit.set ?? {};
  const remove = edit.remove ?? [];
  const body: string[] = [];
  for (const key of Object.keys(set)) {
    if (!all.some((m) => m.key === key)) body.push(`${JSON.stringify(key)}:${set[key]}`);
  }
  for (const m of all) {
    if (m.key in set) body.push(`${text.slice(m.start, m.valueStart)}${set[m.key]}`);
    else if (!remove.includes(m.key)) body.push(text.slice(m.start, m.valueEnd));
  }
  const close = skipWhitespace(text, all.length ? all[all.length - 1]!.valueEnd : start + 1);
  return `${text.slice(0, start + 1)}${body.join(',')}${text.slice(close)}`;
}

/** Edits the object that is the value of `path` (e.g. ['params', '_meta']) inside the top-level object, creating it when absent. */
export function editNested(text: string, path: readonly string[], edit: (text: string, start: number) => string): string {
  return editAt(text, topLevel(text), path, edit);
}

function editAt(text: string, start: number, path: readonly string[], edit: (text: string, start: number) => string): string {
  if (path.length === 0) return edit(text, start);
  const [head, ...rest] = path;
  const scanned = members(text, start, head);
  const found = scanned.at(-1)?.key === head ? scanned.at(-1) : undefined;
  if (found && text[found.valueStart] === '{') return editAt(text, found.valueStart, rest, edit);
  // Absent (or not an object): build it from an empty object and set it.
  const inner = editAt('{}', 0, rest, edit);
  return editObject(text, start, { set: { [head!]: inner } }, found ? members(text, start) : scanned);
}

/** The raw JSON text of a member's value at `path` from the top-level object, or undefined. */
export function rawValue(text: string, path: readonly string[]): string | undefined {
  let start = topLevel(text);
  for (let i = 0; i < path.length; i++) {
    if (text[start] !== '{') return undefined;
    const found = member(text, start, path[i]!);
    if (!found) return undefined;
    if (i === path.length - 1) return text.slice(found.valueStart, skipValue(text, found.valueStart));
    start = found.valueStart;
  }
  return text.slice(start, skipValue(text, start));
}
