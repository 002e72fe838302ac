// The JSON / JSONC editor behind `setup`: one entry set, every other byte kept.
import { describe, expect, it } from 'vitest';
import { setJsonEntry, type JsonEntryRequest } from '../../src/setup/json-edit.js';
import { JsonSyntaxError, parseJsonDocument } from '../../src/setup/json-document.js';
import { ConfigProblem, type EditResult } from '../../src/setup/edit-result.js';
import { decide } from '../../src/setup/decide.js';
import { STDIO, typed, type EntryShape } from '../../src/setup/entry-shapes.js';
import type { Wanted } from '../../src/setup/merge.js';

interface Over extends Partial<Omit<JsonEntryRequest, 'decide'>> {
  shape?: EntryShape;
  wanted?: Partial<Wanted>;
}
/** A request as `setup cursor` makes it (appwrite-mcp 0.1.x on Linux), with `over` changed. */
const req = ({ shape = STDIO, wanted = {}, ...over }: Over = {}): JsonEntryRequest => {
  const base = { containerKey: 'mcpServers', name: 'appwrite', jsonc: false, printCommand: 'appwrite-mcp setup cursor --print', ...over };
  const w: Wanted = { platform: 'linux', spec: 'appwrite-mcp@0.1', force: false, ...wanted };
  return { ...base, decide: (existing) => decide(existing, { name: base.name, shape, wanted: w, where: `"${base.containerKey}"` }) };
};
const vscodeReq = (over: Over = {}) => req({ containerKey: 'servers', shape: typed('stdio'), jsonc: true, ...over });

function changed(result: EditResult): Extract<EditResult, { text: string }> {
  if (result.kind === 'unchanged') throw new Error('expected a change');
  return result;
}
function problem(fn: () => unknown): ConfigProblem {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigProblem) return err;
    throw err;
  }
  throw new Error('expected a ConfigProblem');
}

describe('setJsonEntry: adding', () => {
  it('writes a fresh document for a missing or empty file', () => {
    for (const empty of ['', '  \n', '\uFEFF']) {
      const r = changed(setJsonEntry(empty, req()));
      expect(r.kind).toBe('created');
      expect(r.text).toBe('{\n  "mcpServers": {\n    "appwrite": {\n      "command": "npx",\n      "args": ["-y", "appwrite-mcp@0.1"]\n    }\n  }\n}\n');
      expect(JSON.parse(r.text)).toEqual({ mcpServers: { appwrite: { command: 'npx', args: ['-y', 'appwrite-mcp@0.1'] } } });
    }
  });

  it('adds beside other servers in the file\'s own indentation, leaving the rest byte for byte', () => {
    const before = '{\n    "mcpServers": {\n        "other": {"command": "uvx", "args": ["x"], "env": {"K": "v"}}\n    },\n    "globalShortcut": "Ctrl+Space"\n}\n';
    const r = changed(setJsonEntry(before, req()));
    expect(r.kind).toBe('added');
    expect(r.text).toBe('{\n    "mcpServers": {\n        "other": {"command": "uvx", "args": ["x"], "env": {"K": "v"}},\n        "appwrite": {\n            "command": "npx",\n            "args": ["-y", "appwrite-mcp@0.1"]\n        }\n    },\n    "globalShortcut": "Ctrl+Space"\n}\n');
  });

  it('keeps tabs and CRLF line endings', () => {
    const before = '{\r\n\t"mcpServers": {\r\n\t\t"other": {\r\n\t\t\t"command": "x"\r\n\t\t}\r\n\t}\r\n}';
    const r = changed(setJsonEntry(before, req()));
    expect(r.text).toBe('{\r\n\t"mcpServers": {\r\n\t\t"other": {\r\n\t\t\t"command": "x"\r\n\t\t},\r\n\t\t"appwrite": {\r\n\t\t\t"command": "npx",\r\n\t\t\t"args": ["-y", "appwrite-mcp@0.1"]\r\n\t\t}\r\n\t}\r\n}');
  });

  it('keeps a one-line file on one line', () => {
    const r = changed(setJsonEntry('{"mcpServers":{"other":{"command":"x"}}}', req()));
    expect(r.text).toBe('{"mcpServers":{"other":{"command":"x"},"appwrite":{"command":"npx","args":["-y","appwrite-mcp@0.1"]}}}');
  });

  it('creates the container key when the file has none, and fills empty objects', () => {
    expect(changed(setJsonEntry('{\n  "theme": "dark"\n}\n', req())).text).toBe(
      '{\n  "theme": "dark",\n  "mcpServers": {\n    "appwrite": {\n      "command": "npx",\n      "args": ["-y", "appwrite-mcp@0.1"]\n    }\n  }\n}\n',
    );
    expect(changed(setJsonEntry('{}\n', req())).text).toBe('{\n  "mcpServers": {\n    "appwrite": {\n      "command": "npx",\n      "args": ["-y", "appwrite-mcp@0.1"]\n    }\n  }\n}\n');
    expect(changed(setJsonEntry('{\n  "mcpServers": {}\n}\n', req())).text).toBe(
      '{\n  "mcpServers": {\n    "appwrite": {\n      "command": "npx",\n      "args": ["-y", "appwrite-mcp@0.1"]\n    }\n  }\n}\n',
    );
    expect(changed(setJsonEntry('{\n  "mcpServers": {\n  }\n}\n', req())).text).toBe(
      '{\n  "mcpServers": {\n    "appwrite": {\n      "command": "npx",\n      "args": ["-y", "appwrite-mcp@0.1"]\n    }\n  }\n}\n',
    );
  });

  it('keeps a byte-order mark, odd keys and repeated keys (editing the one JSON.parse keeps)', () => {
    const before = '\uFEFF{\n  "__proto__": {"x": 1},\n  "mcpServers": {"old": {}},\n  "mcpServers": {"b": {"command": "y"}}\n}\n';
    const r = changed(setJsonEntry(before, req()));
    expect(r.text.startsWith('\uFEFF{\n  "__proto__": {"x": 1},\n  "mcpServers": {"old": {}},\n')).toBe(true);
    const parsed = JSON.parse(r.text.slice(1));
    expect(Object.keys(parsed.mcpServers)).toEqual(['b', 'appwrite']);
    expect(Object.getOwnPropertyDescriptor(parsed, '__proto__')?.value).toEqual({ x: 1 });
  });

  it('writes the Windows form (cmd /c npx)', () => {
    const r = changed(setJsonEntry('', req({ wanted: { platform: 'win32', url: 'https://mcp.example.com/p1/mcp' } })));
    expect(JSON.parse(r.text).mcpServers.appwrite).toEqual({ command: 'cmd', args: ['/c', 'npx', '-y', 'appwrite-mcp@0.1', '--url', 'https://mcp.example.com/p1/mcp'] });
  });
});

describe('setJsonEntry: existing entries', () => {
  const current = '{\n  "mcpServers": {\n    "appwrite": {\n      "command": "npx",\n      "args": ["-y", "appwrite-mcp@0.1"],\n      "env": {"DEBUG": "1"}\n    }\n  }\n}\n';

  it('is idempotent', () => {
    expect(setJsonEntry(current, req()).kind).toBe('unchanged');
    const fresh = changed(setJsonEntry('{"a": 1}', req())).text;
    expect(setJsonEntry(fresh, req()).kind).toBe('unchanged');
  });

  it('updates only the values that differ, says what changed and keeps the other keys', () => {
    const r = changed(setJsonEntry(current, req({ wanted: { url: 'https://h.example/p/mcp' } })));
    expect(r.kind).toBe('updated');
    expect(r.text).toBe(current.replace('["-y", "appwrite-mcp@0.1"]', '["-y", "appwrite-mcp@0.1", "--url", "https://h.example/p/mcp"]'));
    expect(r.changes).toEqual(['--url: (none: the default server) → https://h.example/p/mcp']);
    expect(r.kept).toEqual(['env']);
    // The pin moves on its own, everything else stays.
    const older = changed(setJsonEntry(current.replace('appwrite-mcp@0.1', 'appwrite-mcp'), req()));
    expect(older.text).toBe(current);
    expect(older.changes).toEqual(['package: appwrite-mcp → appwrite-mcp@0.1']);
  });

  it('recognises other forms of appwrite-mcp as its own (pinned version, checkout, cmd /c)', () => {
    for (const args of ['["-y", "appwrite-mcp@0.1.0"]', '["/home/me/appwrite-mcp/bin/appwrite-mcp.js"]', '["/c", "npx", "-y", "appwrite-mcp@0.1"]']) {
      const text = `{"mcpServers": {"appwrite": {"command": "x", "args": ${args}}}}`;
      expect(changed(setJsonEntry(text, req())).kind).toBe('updated');
    }
  });

  it('keeps a multi-line args array multi-line', () => {
    const before = '{\n  "mcpServers": {\n    "appwrite": {\n      "command": "npx",\n      "args": [\n        "-y",\n        "appwrite-mcp@0.0.1"\n      ]\n    }\n  }\n}\n';
    const r = changed(setJsonEntry(before, req()));
    expect(r.text).toBe(before.replace('"appwrite-mcp@0.0.1"', '"appwrite-mcp@0.1"'));
  });

  it('adds a missing field to the entry (VS Code\'s type)', () => {
    const before = '{\n  "servers": {\n    "appwrite": {\n      "command": "npx",\n      "args": ["-y", "appwrite-mcp@0.1"]\n    }\n  }\n}\n';
    const r = changed(setJsonEntry(before, vscodeReq()));
    expect(r.text).toBe('{\n  "servers": {\n    "appwrite": {\n      "command": "npx",\n      "args": ["-y", "appwrite-mcp@0.1"],\n      "type": "stdio"\n    }\n  }\n}\n');
    expect(r.changes).toEqual(['added type: "stdio"']);
  });

  it('refuses an entry of that name that runs another server, and replaces it with force', () => {
    const foreign = '{\n  "mcpServers": {\n    "appwrite": {"command": "uvx", "args": ["mcp-server-appwrite"], "env": {"APPWRITE_API_KEY": "k"}},\n    "z": {}\n  }\n}\n';
    const p = problem(() => setJsonEntry(foreign, req()));
    expect(p.message).toContain('already has an entry named "appwrite" that runs something else');
    expect(p.hint).toContain('--name');
    expect(p.hint).toContain('--force');
    const r = changed(setJsonEntry(foreign, req({ wanted: { force: true } })));
    expect(r.kind).toBe('replaced');
    expect(JSON.parse(r.text)).toEqual({ mcpServers: { appwrite: { command: 'npx', args: ['-y', 'appwrite-mcp@0.1'] }, z: {} } });
    expect(r.text).toContain('\n    "z": {}\n');
    // A remote entry (url) is someone else's too.
    expect(() => setJsonEntry('{"mcpServers": {"appwrite": {"url": "https://mcp.appwrite.io/"}}}', req())).toThrow(ConfigProblem);
  });
});

describe('setJsonEntry: files it cannot edit', () => {
  const cases: Array<[string, string]> = [
    ['{\n  // my servers\n  "mcpServers": {}\n}', 'line 2, column 3: comments are not allowed in JSON (this client reads the file as plain JSON)'],
    ['{\n  "mcpServers": {},\n}', 'line 3, column 1: trailing comma before "}"'],
    ['{\n  "mcpServers": {}\n  "x": 1\n}', 'line 3, column 3: expected "," or "}" after a property, found "\\""'],
    ['{"mcpServers": {', 'line 1, column 17: expected a property name in double quotes, found the end of the file'],
    ["{'mcpServers': {}}", 'line 1, column 2: expected a property name in double quotes'],
    ['{"a": 01}', 'line 1, column 8: expected "," or "}" after a property, found "1"'],
    ['{"a": "x\ny"}', 'line 1, column 9: line break inside a string'],
    ['{} {}', 'line 1, column 4: unexpected "{" after the end of the document'],
  ];
  it.each(cases)('refuses %j, saying where', (text, message) => {
    const p = problem(() => setJsonEntry(text, req()));
    expect(p.message).toContain(message);
    expect(p.hint).toContain('Nothing was changed');
    expect(p.hint).toContain('appwrite-mcp setup cursor --print');
  });

  it('refuses a document that is not an object, or a container that is not one', () => {
    expect(problem(() => setJsonEntry('[1, 2]', req())).message).toBe('the top level is not a JSON object');
    expect(problem(() => setJsonEntry('{"mcpServers": []}', req())).message).toBe('"mcpServers" is not a JSON object');
  });

  it('accepts exactly what JSON.parse accepts (strict mode)', () => {
    const samples = [
      '{}', '[]', '"x"', '1', '-0.5e+3', 'true', 'null', ' {"a": [1, {"b": null}], "c": "\\u00e9\\n"} ',
      '{"a": 1,}', '[1,]', '{"a" 1}', '01', '1.', '.5', '+1', '"\\x41"', '"\t"', '{"a": tru}', '', '{"a": 1}}', "'x'", 'NaN', '[1 2]',
    ];
    for (const s of samples) {
      let ours: unknown = 'rejected';
      let theirs: unknown = 'rejected';
      try { ours = parseJsonDocument(s).value; } catch (err) { expect(err).toBeInstanceOf(JsonSyntaxError); }
      try { theirs = JSON.parse(s); } catch { /* rejected */ }
      expect(ours, s).toEqual(theirs);
    }
  });
});

describe('setJsonEntry: JSONC (VS Code)', () => {
  it('keeps comments and trailing commas and adds the entry with type stdio', () => {
    const before = [
      '// VS Code MCP servers',
      '{',
      '  "inputs": [],',
      '  "servers": {',
      '    /* GitHub */',
      '    "github": { "type": "http", "url": "https://api.githubcopilot.com/mcp/" }, // remote',
      '  },',
      '}',
      '',
    ].join('\n');
    const r = changed(setJsonEntry(before, vscodeReq()));
    expect(r.text).toBe([
      '// VS Code MCP servers',
      '{',
      '  "inputs": [],',
      '  "servers": {',
      '    /* GitHub */',
      '    "github": { "type": "http", "url": "https://api.githubcopilot.com/mcp/" }, // remote',
      '    "appwrite": {',
      '      "type": "stdio",',
      '      "command": "npx",',
      '      "args": ["-y", "appwrite-mcp@0.1"]',
      '    },',
      '  },',
      '}',
      '',
    ].join('\n'));
    expect(setJsonEntry(r.text, vscodeReq()).kind).toBe('unchanged');
  });

  it('puts the comma after the last value, not after its line comment', () => {
    const before = '{\n  "servers": {\n    "a": { "command": "x" } // note\n  }\n}\n';
    const r = changed(setJsonEntry(before, vscodeReq()));
    expect(r.text).toBe('{\n  "servers": {\n    "a": { "command": "x" }, // note\n    "appwrite": {\n      "type": "stdio",\n      "command": "npx",\n      "args": ["-y", "appwrite-mcp@0.1"]\n    }\n  }\n}\n');
    expect(parseJsonDocument(r.text, { jsonc: true }).value).toEqual({ servers: { a: { command: 'x' }, appwrite: { type: 'stdio', command: 'npx', args: ['-y', 'appwrite-mcp@0.1'] } } });
  });

  it('adds into an object that holds only a comment', () => {
    const r = changed(setJsonEntry('{\n  "servers": {\n    // none yet\n  }\n}\n', vscodeReq()));
    expect(r.text).toBe('{\n  "servers": {\n    // none yet\n    "appwrite": {\n      "type": "stdio",\n      "command": "npx",\n      "args": ["-y", "appwrite-mcp@0.1"]\n    }\n  }\n}\n');
  });

  it('updates in place around comments', () => {
    const before = '{\n  "servers": {\n    "appwrite": {\n      "type": "stdio", // local\n      "command": "npx",\n      /* pinned */ "args": ["-y", "appwrite-mcp@0.0.1"],\n    },\n  },\n}\n';
    const r = changed(setJsonEntry(before, vscodeReq()));
    expect(r.text).toBe(before.replace('"appwrite-mcp@0.0.1"', '"appwrite-mcp@0.1"'));
  });

  it('still refuses what VS Code would not read, saying where', () => {
    expect(problem(() => setJsonEntry('{\n  "servers": { /* open\n}', vscodeReq())).message).toBe('line 2, column 16: unterminated /* comment');
    expect(problem(() => setJsonEntry('{\n  "servers": {,}\n}', vscodeReq())).message).toContain('line 2, column 15: expected a property name');
  });
});

describe('setJsonEntry: indentation', () => {
  it('takes the indentation from the first property, not from a comment above the document', () => {
    const before = '/*\n * my config\n */\n{\n    "servers": {}\n}\n';
    const r = changed(setJsonEntry(before, vscodeReq()));
    expect(r.text).toBe('/*\n * my config\n */\n{\n    "servers": {\n        "appwrite": {\n            "type": "stdio",\n            "command": "npx",\n            "args": ["-y", "appwrite-mcp@0.1"]\n        }\n    }\n}\n');
  });
});
