// A JSON parser that remembers where every value sits in the text, so that `setup` can change one
// entry of a client's config and leave every other byte as it was. Strict JSON by default (what
// JSON.parse accepts); with `jsonc` it also takes what VS Code's own parser takes in its mcp.json:
// `//` and `/* */` comments and trailing commas.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

interface NodeBase {
  /** Offset of the value's first character. */
  start: number;
  /** Offset just past the value's last character. */
  end: number;
  value: JsonValue;
}
export interface JsonObjectNode extends NodeBase {
  kind: 'object';
  props: JsonProperty[];
  /** True when a comma follows the last property (JSONC only). */
  trailingComma: boolean;
}
export interface JsonArrayNode extends NodeBase {
  kind: 'array';
  items: JsonNode[];
}
export interface JsonScalarNode extends NodeBase {
  kind: 'string' | 'number' | 'literal';
}
export type JsonNode = JsonObjectNode | JsonArrayNode | JsonScalarNode;

export interface JsonProperty {
  key: string;
  keyStart: number;
  value: JsonNode;
}

export interface JsonParseOptions {
  /** Accept comments and trailing commas, as VS Code does in its JSON configuration files. */
  jsonc?: boolean;
}

/** A syntax error, with the place it was found (1-based line and column). */
export class JsonSyntaxError extends Error {
  readonly offset: number;
  readonly line: number;
  readonly column: number;
  readonly reason: string;
  constructor(text: string, offset: number, reason: string) {
    const { line, column } = lineAndColumn(text, offset);
    super(`line ${line}, column ${column}: ${reason}`);
    this.name = 'JsonSyntaxError';
    this.offset = offset;
    this.line = line;
    this.column = column;
    this.reason = reason;
  }
}

export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LITERALS: Record<string, JsonValue> = { true: true, false: false, null: null };

/**
 * Parses `text` (a whole document: one value, surrounded by whitespace and, in JSONC, comments).
 * A leading byte-order mark is skipped. Throws JsonSyntaxError.
 */
export function parseJsonDocument(text: string, opts: JsonParseOptions = {}): JsonNode {
  const jsonc = Boolean(opts.jsonc);
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const fail = (reason: string, at = pos): never => {
    throw new JsonSyntaxError(text, at, reason);
  };
  const describe = (at: number) => (at >= text.length ? 'the end of the file' : `${JSON.stringify(text[at])}`);

  const skip = () => {
    for (;;) {
      const c = text[pos];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
        pos++;
      } else if (c === '/' && (text[pos + 1] === '/' || text[pos + 1] === '*')) {
        if (!jsonc) fail('comments are not allowed in JSON');
        if (text[pos + 1] === '/') {
          while (pos < text.length && text[pos] !== '\n' && text[pos] !== '\r') pos++;
        } else {
          const close = text.indexOf('*/', pos + 2);
          if (close < 0) fail('unterminated /* comment');
          pos = close + 2;
        }
      } else {
        return;
      }
    }
  };

  const parseString = (): JsonScalarNode => {
    const start = pos;
    pos++; // opening quote
    for (;;) {
      if (pos >= text.length) fail('unterminated string', start);
      const code = text.charCodeAt(pos);
      if (code === 0x22) break;
      if (code < 0x20) fail(code === 0x0a || code === 0x0d ? 'line break inside a string' : 'control character inside a string');
      if (code === 0x5c) {
        const e = text[pos + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(pos + 2, pos + 6))) fail('bad \\u escape in a string');
          pos += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) fail(`bad escape ${JSON.stringify(`\\${e ?? ''}`)} in a string`);
        pos += 2;
        continue;
      }
      pos++;
    }
    pos++; // closing quote
    return { kind: 'string', start, end: pos, value: JSON.parse(text.slice(start, pos)) as string };
  };

  const parseValue = (depth: number): JsonNode => {
    if (depth > 500) fail('nested too deeply');
    skip();
    const c = text[pos];
    if (c === '{') return parseObject(depth);
    if (c === '[') return parseArray(depth);
    if (c === '"') return parseString();
    const start = pos;
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
      NUMBER.lastIndex = pos;
      const m = NUMBER.exec(text);
      if (!m) fail('bad number');
      pos += m![0].length;
      return { kind: 'number', start, end: pos, value: Number(m![0]) };
    }
    for (const word of Object.keys(LITERALS)) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return { kind: 'literal', start, end: pos, value: LITERALS[word]! };
      }
    }
    return fail(`expected a value, found ${describe(pos)}`);
  };

  const parseObject = (depth: number): JsonObjectNode => {
    const start = pos;
    pos++;
    const props: JsonProperty[] = [];
    const value: { [key: string]: JsonValue } = {};
    let trailingComma = false;
    skip();
    if (text[pos] !== '}') {
      for (;;) {
        skip();
        if (text[pos] === '}' && props.length > 0) {
          if (!jsonc) fail('trailing comma before "}"', pos);
          trailingComma = true;
          break;
        }
        if (text[pos] !== '"') fail(`expected a property name in double quotes, found ${describe(pos)}`);
        const keyNode = parseString();
        skip();
        if (text[pos] !== ':') fail(`expected ":" after the property name, found ${describe(pos)}`);
        pos++;
        const child = parseValue(depth + 1);
        const key = keyNode.value as string;
        props.push({ key, keyStart: keyNode.start, value: child });
        // defineProperty: a key named "__proto__" is data, as JSON.parse makes it.
        Object.defineProperty(value, key, { value: child.value, enumerable: true, writable: true, configurable: true });
        skip();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === '}') break;
        fail(`expected "," or "}" after a property, found ${describe(pos)}`);
      }
    }
    pos++;
    return { kind: 'object', start, end: pos, value, props, trailingComma };
  };

  const parseArray = (depth: number): JsonArrayNode => {
    const start = pos;
    pos++;
    const items: JsonNode[] = [];
    skip();
    if (text[pos] !== ']') {
      for (;;) {
        skip();
        if (text[pos] === ']' && items.length > 0) {
          if (!jsonc) fail('trailing comma before "]"', pos);
          break;
        }
        items.push(parseValue(depth + 1));
        skip();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === ']') break;
        fail(`expected "," or "]" after an array item, found ${describe(pos)}`);
      }
    }
    pos++;
    return { kind: 'array', start, end: pos, value: items.map((i) => i.value), items };
  };

  const root = parseValue(0);
  skip();
  if (pos < text.length) fail(`unexpected ${describe(pos)} after the end of the document`);
  return root;
}

/** The last property named `key` (the one JSON.parse keeps when a key is repeated). */
export function findProperty(node: JsonObjectNode, key: string): JsonProperty | undefined {
  for (let i = node.props.length - 1; i >= 0; i--) if (node.props[i]!.key === key) return node.props[i];
  return undefined;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep equality of JSON values; object key order does not matter. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isJsonObject(a) && isJsonObject(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}
