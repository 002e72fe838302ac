// Just enough of TOML (1.0, with 1.1's multi-line inline tables) to find where each table header and
// each key/value pair sits in a file, and to read string and string-array values. It checks the
// syntax it walks through (strings, arrays, inline tables, keys, line structure) and refuses what it
// cannot read, so that `setup` can edit one `[mcp_servers.<name>]` table and leave every other byte
// of config.toml alone. It is not a validator of every TOML rule (dates, duplicate keys elsewhere).
import { lineAndColumn } from './json-document.js';

export class TomlSyntaxError extends Error {
  readonly line: number;
  readonly column: number;
  readonly reason: string;
  constructor(text: string, offset: number, reason: string) {
    const { line, column } = lineAndColumn(text, offset);
    super(`line ${line}, column ${column}: ${reason}`);
    this.name = 'TomlSyntaxError';
    this.line = line;
    this.column = column;
    this.reason = reason;
  }
}

/** A decoded value, as far as `setup` needs one: strings, arrays, and "something else" (an inline table's key names kept). */
export type TomlValue = string | TomlValue[] | { other: string; keys?: string[] };

export interface TomlHeader {
  path: string[];
  array: boolean;
  /** Offset of the line's first character. */
  lineStart: number;
  /** Offset just past the line (after its newline, or the end of the file). */
  lineEnd: number;
}

export interface TomlPair {
  /** The table the pair is in (the last header's path; [] at the top). */
  table: string[];
  tableIsArray: boolean;
  key: string[];
  lineStart: number;
  valueStart: number;
  valueEnd: number;
  /** Past the pair's last line (after its newline, or the end of the file). */
  lineEnd: number;
  value: TomlValue;
}

export interface TomlDocument {
  headers: TomlHeader[];
  pairs: TomlPair[];
}

const BARE_KEY = /[A-Za-z0-9_-]/;
const ESCAPES: Record<string, string> = { b: '\b', t: '\t', n: '\n', f: '\f', r: '\r', e: '\x1b', '"': '"', '\\': '\\' };

export function parseTomlDocument(text: string): TomlDocument {
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const headers: TomlHeader[] = [];
  const pairs: TomlPair[] = [];
  let table: string[] = [];
  let tableIsArray = false;

  const fail = (reason: string, at = pos): never => {
    throw new TomlSyntaxError(text, at, reason);
  };
  const describe = (at: number) => (at >= text.length ? 'the end of the file' : text[at] === '\n' || text[at] === '\r' ? 'the end of the line' : JSON.stringify(text[at]));
  const skipSpaces = () => {
    while (text[pos] === ' ' || text[pos] === '\t') pos++;
  };
  const atNewline = () => text[pos] === '\n' || (text[pos] === '\r' && text[pos + 1] === '\n');
  const skipComment = () => {
    if (text[pos] !== '#') return;
    while (pos < text.length && !atNewline()) {
      const code = text.charCodeAt(pos);
      if ((code < 0x20 && code !== 0x09) || code === 0x7f) fail('control character in a comment');
      pos++;
    }
  };
  /** After a header or a pair: spaces, a comment, then a newline or the end of the file. */
  const endOfLine = (what: string) => {
    skipSpaces();
    skipComment();
    if (pos >= text.length) return;
    if (!atNewline()) fail(`expected the end of the line after ${what}, found ${describe(pos)}`);
    pos += text[pos] === '\r' ? 2 : 1;
  };
  /** Inside arrays and inline tables: whitespace, newlines and comments. */
  const skipBlank = () => {
    for (;;) {
      skipSpaces();
      if (text[pos] === '#') skipComment();
      else if (atNewline()) pos += text[pos] === '\r' ? 2 : 1;
      else return;
    }
  };

  const hex = (digits: number): string => {
    const h = text.slice(pos, pos + digits);
    if (!new RegExp(`^[0-9a-fA-F]{${digits}}$`).test(h)) fail(`bad \\${digits === 2 ? 'x' : digits === 4 ? 'u' : 'U'} escape`);
    const cp = parseInt(h, 16);
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) fail('escape is not a Unicode scalar value');
    pos += digits;
    return String.fromCodePoint(cp);
  };

  const basicString = (multiline: boolean): string => {
    const start = pos;
    pos += multiline ? 3 : 1;
    if (multiline && atNewline()) pos += text[pos] === '\r' ? 2 : 1;
    let out = '';
    for (;;) {
      if (pos >= text.length) fail('unterminated string', start);
      const c = text[pos]!;
      if (c === '"') {
        if (!multiline) {
          pos++;
          return out;
        }
        let n = 0;
        while (text[pos + n] === '"') n++;
        if (n >= 3) {
          if (n > 5) fail('too many quotes at the end of a string');
          out += '"'.repeat(n - 3);
          pos += n;
          return out;
        }
        out += '"'.repeat(n);
        pos += n;
        continue;
      }
      if (c === '\\') {
        pos++;
        const e = text[pos];
        if (e === undefined) fail('unterminated string', start);
        if (multiline && (e === ' ' || e === '\t' || e === '\n' || e === '\r')) {
          // A line-ending backslash: drop the newline and the whitespace after it.
          let p = pos;
          while (text[p] === ' ' || text[p] === '\t') p++;
          if (text[p] !== '\n' && !(text[p] === '\r' && text[p + 1] === '\n')) fail('a backslash before spaces must end the line');
          pos = p;
          while (/[ \t\r\n]/.test(text[pos] ?? '')) pos++;
          continue;
        }
        pos++;
        if (e in ESCAPES) out += ESCAPES[e];
        else if (e === 'x') out += hex(2);
        else if (e === 'u') out += hex(4);
        else if (e === 'U') out += hex(8);
        else fail(`bad escape "\\${e}" in a string`, pos - 2);
        continue;
      }
      if (c === '\n' || c === '\r') {
        if (!multiline) fail('line break inside a string');
        if (c === '\r' && text[pos + 1] !== '\n') fail('bare carriage return in a string');
      } else {
        const code = c.charCodeAt(0);
        if ((code < 0x20 && code !== 0x09) || code === 0x7f) fail('control character in a string');
      }
      out += c;
      pos++;
    }
  };

  const literalString = (multiline: boolean): string => {
    const start = pos;
    pos += multiline ? 3 : 1;
    if (multiline && atNewline()) pos += text[pos] === '\r' ? 2 : 1;
    let out = '';
    for (;;) {
      if (pos >= text.length) fail('unterminated string', start);
      const c = text[pos]!;
      if (c === "'") {
        if (!multiline) {
          pos++;
          return out;
        }
        let n = 0;
        while (text[pos + n] === "'") n++;
        if (n >= 3) {
          if (n > 5) fail('too many quotes at the end of a string');
          out += "'".repeat(n - 3);
          pos += n;
          return out;
        }
        out += "'".repeat(n);
        pos += n;
        continue;
      }
      if (c === '\n' || c === '\r') {
        if (!multiline) fail('line break inside a string');
        if (c === '\r' && text[pos + 1] !== '\n') fail('bare carriage return in a string');
      } else {
        const code = c.charCodeAt(0);
        if ((code < 0x20 && code !== 0x09) || code === 0x7f) fail('control character in a string');
      }
      out += c;
      pos++;
    }
  };

  const keyPart = (): string => {
    if (text[pos] === '"') {
      if (text.startsWith('"""', pos)) fail('a key cannot be a multi-line string');
      return basicString(false);
    }
    if (text[pos] === "'") {
      if (text.startsWith("'''", pos)) fail('a key cannot be a multi-line string');
      return literalString(false);
    }
    const start = pos;
    while (pos < text.length && BARE_KEY.test(text[pos]!)) pos++;
    if (pos === start) fail(`expected a key, found ${describe(pos)}`);
    return text.slice(start, pos);
  };

  const dottedKey = (): string[] => {
    const parts = [keyPart()];
    for (;;) {
      skipSpaces();
      if (text[pos] !== '.') return parts;
      pos++;
      skipSpaces();
      parts.push(keyPart());
    }
  };

  const value = (depth: number): TomlValue => {
    if (depth > 100) fail('nested too deeply');
    const c = text[pos];
    if (c === '"') return basicString(text.startsWith('"""', pos));
    if (c === "'") return literalString(text.startsWith("'''", pos));
    if (c === '[') {
      pos++;
      const items: TomlValue[] = [];
      for (;;) {
        skipBlank();
        if (text[pos] === ']') {
          pos++;
          return items;
        }
        items.push(value(depth + 1));
        skipBlank();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === ']') {
          pos++;
          return items;
        }
        fail(`expected "," or "]" in an array, found ${describe(pos)}`);
      }
    }
    if (c === '{') {
      const start = pos;
      const keys: string[] = [];
      pos++;
      for (;;) {
        skipBlank();
        if (text[pos] === '}') {
          pos++;
          return { other: text.slice(start, pos), keys };
        }
        keys.push(dottedKey()[0]!);
        skipSpaces();
        if (text[pos] !== '=') fail(`expected "=" after a key, found ${describe(pos)}`);
        pos++;
        skipSpaces();
        value(depth + 1);
        skipBlank();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === '}') {
          pos++;
          return { other: text.slice(start, pos), keys };
        }
        fail(`expected "," or "}" in an inline table, found ${describe(pos)}`);
      }
    }
    // Numbers, booleans, dates and times: one run of these characters (a date and a time may be
    // separated by one space).
    const start = pos;
    const scalar = /[0-9A-Za-z_+\-.:]/;
    while (pos < text.length && scalar.test(text[pos]!)) {
      pos++;
      if (text[pos] === ' ' && /^\d{4}-\d{2}-\d{2}$/.test(text.slice(start, pos)) && /\d/.test(text[pos + 1] ?? '')) pos++;
    }
    const word = text.slice(start, pos);
    if (!word) fail(`expected a value, found ${describe(pos)}`);
    if (!/^(true|false|[+-]?(inf|nan)|[+-]?[0-9][0-9_]*(\.[0-9_]+)?([eE][+-]?[0-9_]+)?|0x[0-9A-Fa-f_]+|0o[0-7_]+|0b[01_]+|\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?)?|\d{2}:\d{2}(:\d{2}(\.\d+)?)?)$/.test(word)) {
      fail(`${JSON.stringify(word)} is not a TOML value`, start);
    }
    return { other: word };
  };

  while (pos < text.length) {
    const lineStart = text.lastIndexOf('\n', pos - 1) + 1;
    skipSpaces();
    if (pos >= text.length) break;
    if (text[pos] === '#') {
      skipComment();
      endOfLine('a comment');
      continue;
    }
    if (atNewline()) {
      pos += text[pos] === '\r' ? 2 : 1;
      continue;
    }
    if (text[pos] === '[') {
      const array = text[pos + 1] === '[';
      pos += array ? 2 : 1;
      skipSpaces();
      const path = dottedKey();
      skipSpaces();
      if (!text.startsWith(array ? ']]' : ']', pos)) fail(`expected "${array ? ']]' : ']'}" to close the table header, found ${describe(pos)}`);
      pos += array ? 2 : 1;
      endOfLine('a table header');
      headers.push({ path, array, lineStart, lineEnd: pos });
      table = path;
      tableIsArray = array;
      continue;
    }
    const key = dottedKey();
    skipSpaces();
    if (text[pos] !== '=') fail(`expected "=" after the key, found ${describe(pos)}`);
    pos++;
    skipSpaces();
    const valueStart = pos;
    const v = value(0);
    const valueEnd = pos;
    endOfLine('a value');
    pairs.push({ table, tableIsArray, key, lineStart, valueStart, valueEnd, lineEnd: pos, value: v });
  }
  return { headers, pairs };
}

/** A TOML basic string for `s`. */
export function tomlString(s: string): string {
  return JSON.stringify(s).replace(/\x7f/g, '\\u007F');
}

export const samePath = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
export const startsWith = (path: string[], prefix: string[]) => path.length >= prefix.length && prefix.every((x, i) => x === path[i]);
