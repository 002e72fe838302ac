// The config.toml editor behind `setup codex`: one [mcp_servers.<name>] table set, the rest of the
// file byte for byte. Every result is also read by a real TOML parser (smol-toml, a dev dependency)
// and compared with the file before the edit.
import { describe, expect, it } from 'vitest';
import { parse as parseToml } from 'smol-toml';
import { setTomlServer, type TomlServerRequest } from '../../src/setup/toml-edit.js';
import { parseTomlDocument, TomlSyntaxError } from '../../src/setup/toml-document.js';
import { ConfigProblem, type EditResult } from '../../src/setup/edit-result.js';
import { serverCommand, type ServerCommand } from '../../src/setup/entry.js';
import { decide } from '../../src/setup/decide.js';
import { STDIO } from '../../src/setup/entry-shapes.js';
import type { Wanted } from '../../src/setup/merge.js';

const SPEC = 'appwrite-mcp@0.1';
const npx = (url?: string): ServerCommand => serverCommand('linux', SPEC, url);
/** A request as `setup codex` makes it (appwrite-mcp 0.1.x on Linux), with `wanted` changed. */
const req = (wanted: Partial<Wanted> = {}, name = 'appwrite'): TomlServerRequest => {
  const w: Wanted = { platform: 'linux', spec: SPEC, force: false, ...wanted };
  return { name, printCommand: 'appwrite-mcp setup codex --print', decide: (existing) => decide(existing, { name, shape: STDIO, wanted: w, where: "config.toml's [mcp_servers]" }) };
};

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

/** smol-toml's reading of `after` equals its reading of `before` with only mcp_servers.<name> set to `server`. */
function expectOnlyServerChanged(before: string, after: string, name = 'appwrite', server = npx(), keep: Record<string, unknown> = {}) {
  const expected = structuredClone(parseToml(before)) as Record<string, any>;
  expected.mcp_servers ??= {};
  expected.mcp_servers[name] = { ...keep, command: server.command, args: server.args };
  expect(parseToml(after)).toEqual(expected);
}

// A config.toml with the things a line-based editor gets wrong: a multi-line string and a multi-line
// array whose lines look like table headers, comments, CRLF-free but no blank line at the end.
const busy = `# Codex settings
model = "o4-mini"
approval_policy = "on-request"
notes = """
[mcp_servers.appwrite]
command = "not really"
"""
paths = [
  ["a", "b"],
  [ 'c' ],
]
when = 1979-05-27 07:32:00Z

[profiles.fast]   # a profile
model = "gpt-4.1"

[mcp_servers.context7]
command = "npx"
args = ["-y", "@upstash/context7-mcp"]
env = { "KEY" = "v", other.nested = 'x' }

[mcp_servers.context7.tools]
enabled = true`;

describe('setTomlServer: adding', () => {
  it('writes the table alone into a missing or empty file', () => {
    const r = changed(setTomlServer('', req()));
    expect(r.kind).toBe('created');
    expect(r.text).toBe('[mcp_servers.appwrite]\ncommand = "npx"\nargs = ["-y", "appwrite-mcp@0.1"]\n');
    expect(parseToml(r.text)).toEqual({ mcp_servers: { appwrite: { command: 'npx', args: ['-y', 'appwrite-mcp@0.1'] } } });
  });

  it('appends the table and leaves every other byte of the file as it was', () => {
    const r = changed(setTomlServer(busy, req()));
    expect(r.kind).toBe('added');
    expect(r.text).toBe(`${busy}\n\n[mcp_servers.appwrite]\ncommand = "npx"\nargs = ["-y", "appwrite-mcp@0.1"]\n`);
    expectOnlyServerChanged(busy, r.text);
    expect(setTomlServer(r.text, req()).kind).toBe('unchanged');
  });

  it('separates with one blank line and keeps CRLF', () => {
    expect(changed(setTomlServer('model = "x"\n', req())).text).toBe('model = "x"\n\n[mcp_servers.appwrite]\ncommand = "npx"\nargs = ["-y", "appwrite-mcp@0.1"]\n');
    expect(changed(setTomlServer('model = "x"\n\n', req())).text).toBe('model = "x"\n\n[mcp_servers.appwrite]\ncommand = "npx"\nargs = ["-y", "appwrite-mcp@0.1"]\n');
    const crlf = 'model = "x"\r\n[tui]\r\nnotifications = true\r\n';
    const r = changed(setTomlServer(crlf, req()));
    expect(r.text).toBe(`${crlf}\r\n[mcp_servers.appwrite]\r\ncommand = "npx"\r\nargs = ["-y", "appwrite-mcp@0.1"]\r\n`);
    expectOnlyServerChanged(crlf, r.text);
  });

  it('writes the Windows form and --url, escaped as TOML strings', () => {
    const r = changed(setTomlServer('', req({ platform: 'win32', url: 'https://mcp.example.com/p1/mcp?x="1"' })));
    expect(parseToml(r.text)).toEqual({ mcp_servers: { appwrite: { command: 'cmd', args: ['/c', 'npx', '-y', 'appwrite-mcp@0.1', '--url', 'https://mcp.example.com/p1/mcp?x="1"'] } } });
  });

  it('adds a table when other servers are written with dotted keys', () => {
    for (const before of ['mcp_servers.other.command = "x"\n', '[mcp_servers]\nother.command = "x"\nother.args = []\n']) {
      const r = changed(setTomlServer(before, req()));
      expect(r.text.startsWith(before)).toBe(true);
      expectOnlyServerChanged(before, r.text);
    }
  });

  it('adds a table beside sub-tables that already exist for the name', () => {
    const before = '[mcp_servers.appwrite.env]\nAPPWRITE_MCP_DEBUG = "1"\n';
    const r = changed(setTomlServer(before, req()));
    expectOnlyServerChanged(before, r.text, 'appwrite', npx(), { env: { APPWRITE_MCP_DEBUG: '1' } });
  });
});

describe('setTomlServer: an existing table', () => {
  const ours = `model = "o3"

[mcp_servers.appwrite]
command = "npx"
args = ["-y", "appwrite-mcp@0.0.1"] # pinned
startup_timeout_sec = 20

[mcp_servers.appwrite.env]
APPWRITE_MCP_DEBUG = "1"

# the next server
[mcp_servers.other]
command = "x"
`;

  it('is idempotent', () => {
    const same = ours.replace('appwrite-mcp@0.0.1', SPEC);
    expect(setTomlServer(same, req()).kind).toBe('unchanged');
  });

  it('updates the values in place, keeping comments, other keys and sub-tables', () => {
    const r = changed(setTomlServer(ours, req()));
    expect(r.kind).toBe('updated');
    expect(r.text).toBe(ours.replace('"appwrite-mcp@0.0.1"', '"appwrite-mcp@0.1"'));
    expect(r.changes).toEqual(['package: appwrite-mcp@0.0.1 → appwrite-mcp@0.1']);
    expect(r.kept).toEqual(['startup_timeout_sec', 'env']);
    expectOnlyServerChanged(ours, r.text, 'appwrite', npx(), { startup_timeout_sec: 20, env: { APPWRITE_MCP_DEBUG: '1' } });
  });

  it('reads quoted keys and multi-line arrays, and keeps the array multi-line', () => {
    const before = `[mcp_servers."appwrite"]\ncommand = 'npx'\nargs = [\n    "-y",\n    "appwrite-mcp@0.1",\n]\n`;
    expect(setTomlServer(before, req()).kind).toBe('unchanged');
    const r = changed(setTomlServer(before, req({ url: 'https://h.example/p/mcp' })));
    expect(r.text).toBe(`[mcp_servers."appwrite"]\ncommand = 'npx'\nargs = [\n    "-y",\n    "appwrite-mcp@0.1",\n    "--url",\n    "https://h.example/p/mcp",\n]\n`);
  });

  it('adds missing keys to the table, before the next one', () => {
    const before = '[mcp_servers.appwrite]\nargs = ["-y", "appwrite-mcp@0.1"]\n\n[other]\nx = 1';
    const r = changed(setTomlServer(before, req()));
    expect(r.text).toBe('[mcp_servers.appwrite]\nargs = ["-y", "appwrite-mcp@0.1"]\ncommand = "npx"\n\n[other]\nx = 1');
    expectOnlyServerChanged(before, r.text);
    const atEnd = '[mcp_servers.appwrite]';
    expect(changed(setTomlServer(atEnd, req())).text).toBe('[mcp_servers.appwrite]\ncommand = "npx"\nargs = ["-y", "appwrite-mcp@0.1"]\n');
  });

  it('refuses a table that runs another server; with force replaces it and its sub-tables only', () => {
    const foreign = `[mcp_servers.appwrite]
command = "uvx"
args = ["mcp-server-appwrite", "--users"]

[mcp_servers.appwrite.env]
APPWRITE_API_KEY = "secret"

# the next server
[mcp_servers.other]
command = "x"
`;
    const p = problem(() => setTomlServer(foreign, req()));
    expect(p.message).toBe(`config.toml's [mcp_servers] already has an entry named "appwrite" that runs something else (command "uvx"; 2 arguments (flags --users); env APPWRITE_API_KEY)`);
    expect(p.hint).toContain('--force');
    const r = changed(setTomlServer(foreign, req({ force: true })));
    expect(r.kind).toBe('replaced');
    expect(r.text).toBe('[mcp_servers.appwrite]\ncommand = "npx"\nargs = ["-y", "appwrite-mcp@0.1"]\n\n\n# the next server\n[mcp_servers.other]\ncommand = "x"\n');
    expect(parseToml(r.text)).toEqual({ mcp_servers: { appwrite: { command: 'npx', args: ['-y', 'appwrite-mcp@0.1'] }, other: { command: 'x' } } });
    // A remote server (url) is someone else's too.
    expect(() => setTomlServer('[mcp_servers.appwrite]\nurl = "https://mcp.appwrite.io/"\n', req())).toThrow(ConfigProblem);
  });
});

describe('setTomlServer: files it does not edit', () => {
  it.each([
    ['mcp_servers = { appwrite = { command = "npx" } }\n', 'the server "appwrite" is defined by the key mcp_servers, not by its own [mcp_servers.appwrite] table'],
    ['[mcp_servers]\nappwrite.command = "npx"\n', 'the server "appwrite" is defined by the key appwrite.command in [mcp_servers]'],
    ['[mcp_servers]\nappwrite = { command = "npx" }\n', 'the server "appwrite" is defined by the key appwrite in [mcp_servers]'],
    ['mcp_servers.appwrite.args = []\n', 'defined by the key mcp_servers.appwrite.args'],
    ['[[mcp_servers]]\nname = "x"\n', '[[mcp_servers]] is an array of tables'],
    ['[mcp_servers.appwrite]\ncommand = "npx"\n[mcp_servers.appwrite]\nargs = []\n', '[mcp_servers.appwrite] is defined more than once'],
  ])('refuses %j', (text, message) => {
    expect(problem(() => setTomlServer(text, req())).message).toContain(message);
  });

  it.each([
    ['model = "o3\n', 'line 1, column 12: line break inside a string'],
    ['model "o3"\n', 'line 1, column 7: expected "=" after the key, found "\\""'],
    ['[profiles\nx = 1\n', 'line 1, column 10: expected "]" to close the table header, found the end of the line'],
    ['a = [1, 2\n', 'line 2, column 1: expected "," or "]" in an array, found the end of the file'],
    ['a = hello\n', 'line 1, column 5: "hello" is not a TOML value'],
    ['a = 1 b = 2\n', 'line 1, column 7: expected the end of the line after a value, found "b"'],
    ['a = """never closed\n', 'line 1, column 5: unterminated string'],
    ['a = "\\q"\n', 'line 1, column 6: bad escape "\\q" in a string'],
  ])('refuses the unparsable %j, saying where', (text, message) => {
    const p = problem(() => setTomlServer(text, req()));
    expect(p.message).toBe(message);
    expect(p.hint).toContain('Nothing was changed');
    expect(p.hint).toContain('appwrite-mcp setup codex --print');
  });

  it('reads what a real TOML parser reads, and rejects what it rejects (on these samples)', () => {
    const valid = [
      busy,
      'a = 1_000\nb = -3.5e+2\nc = +inf\nd = 0xDEAD_BEEF\ne = 0o755\nf = 0b1010\ng = true\n',
      'odt = 1979-05-27T07:32:00.999-07:00\nld = 1979-05-27\nlt = 07:32:00\nldt = 1979-05-27T07:32:00\n',
      's = """\\\n   joined \\\n   line"""\nq = """""quoted"""""\nl = \'\'\'it\'s\'\'\'\n',
      '"quoted key" = 1\n\'lit\'.bare = 2\na . b . c = 3\n[ spaced . header ]\n[[arr]]\n[[arr]]\nx = [ ]\n',
      'i = { a = 1, b = { c = [1, 2] } }\n# comment only\n\n',
    ];
    for (const text of valid) {
      expect(() => parseToml(text), text).not.toThrow();
      expect(() => parseTomlDocument(text), text).not.toThrow();
    }
    const invalid = ['a = \n', '= 1\n', 'a = [1,,2]\n', 'a = "x" "y"\n', '[a]]\n', 'a = {b = 1,, c = 2}\n', 'a = \'\'\'x\n'];
    for (const text of invalid) {
      expect(() => parseToml(text), text).toThrow();
      expect(() => parseTomlDocument(text), text).toThrow(TomlSyntaxError);
    }
  });

  it('decodes strings as TOML does', () => {
    const doc = parseTomlDocument('a = "tab\\tu\\u00e9U\\U0001F600"\nb = \'C:\\path\'\nc = """\nx\\\n    y"""\nd = [\'1\', "2",\n  # c\n  "3",]\n');
    expect(doc.pairs.map((p) => p.value)).toEqual(['tab\tué' + 'U\u{1F600}', 'C:\\path', 'xy', ['1', '2', '3']]);
  });
});
