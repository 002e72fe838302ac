// Never echo a value that may be secret (issue 19, item 7): a malformed --static-oauth-client-info
// after ${VAR} expansion, a corrupt secrets file and a malformed --header are reported by where they
// are broken and by name, never by their text (V8's JSON errors quote a slice of the input); a
// server URL with credentials in it (user:password@) is refused, never echoed, never stored.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Code, isAppError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { FileSecretStore } from '../../src/store/secrets.js';
import { NO_KEYCHAIN_ENV, runCli, tempConfigDir } from '../helpers/cli.js';

const SECRET = 'sk-live-SECRET-7f3a9c';
const cleanups: Array<() => unknown> = [];
afterAll(() => {
  for (const c of cleanups.reverse()) c();
});

function env(extra: NodeJS.ProcessEnv = {}) {
  const config = tempConfigDir();
  cleanups.push(() => config.cleanup());
  return { dir: config.dir, env: { APPWRITE_MCP_CONFIG_DIR: config.dir, APPWRITE_MCP_STORE: 'file', ...NO_KEYCHAIN_ENV, ...extra } };
}

/** Every file under `dir`, read whole. */
function everything(dir: string): string {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((p) => statSync(p).isFile())
    .map((p) => `${p}\n${readFileSync(p, 'utf8')}`)
    .join('\n');
}

describe('secrets are never echoed', () => {
  it('--static-oauth-client-info that is not JSON once ${VAR} is expanded: where, never a slice of it', async () => {
    const e = env({ MY_SECRET: SECRET });
    // The common slip: the variable written without quotes. V8 says `Unexpected token 's', ..."t_secret":sk-live-SECRET-"...`.
    const r = await runCli(['login', '--url', 'http://127.0.0.1:9/mcp', '--static-oauth-client-info', '{"client_id":"pre","client_secret":${MY_SECRET}}'], e.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--static-oauth-client-info is not valid JSON \(an unexpected character or value\)/);
    expect(r.stderr + r.stdout).not.toContain('SECRET');
    const late = await runCli(['login', '--url', 'http://127.0.0.1:9/mcp', '--static-oauth-client-info', '{"client_id":"pre","client_secret":"${MY_SECRET}"}}'], e.env);
    expect(late.code).toBe(2);
    expect(late.stderr).toMatch(/not valid JSON \(Unexpected non-whitespace character after the JSON at line 1, column 60\)/);
    expect(late.stderr).not.toContain('SECRET');
  });

  it('a corrupt secrets file: its path and where it is broken, never its contents', async () => {
    const e = env();
    writeFileSync(join(e.dir, 'secrets.json'), `{"sign-in": ${SECRET}}\n`, { mode: 0o600 });
    const err = await new FileSecretStore(e.dir, createLogger({ write: () => {} })).read('sign-in').catch((x: unknown) => x);
    expect(isAppError(err, Code.SECRETS_UNREADABLE)).toBe(true);
    expect((err as Error).message).toBe(`${join(e.dir, 'secrets.json')} is not valid JSON (an unexpected character or value)`);
    expect(JSON.stringify(err, Object.getOwnPropertyNames(err)) + String((err as Error).cause ?? '')).not.toContain(SECRET);
  });

  it('a malformed --header is named, its value never shown', async () => {
    const e = env({ KEY: SECRET });
    for (const bad of [`X-Api-Key=${SECRET}`, `X-Api-Key ${SECRET}`]) {
      const r = await runCli(['token', '--url', 'http://127.0.0.1:9/mcp', '--header', bad], e.env);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--header X-Api-Key is not Name:value/);
      expect(r.stderr).not.toContain('SECRET');
    }
    // setup takes no headers, but the flag is still checked (and refused without its value).
    const setup = await runCli(['setup', 'cursor', '-H', `X-Api-Key ${SECRET}`], { ...e.env, HOME: e.dir });
    expect(setup.code).toBe(2);
    expect(setup.stderr).toMatch(/--header X-Api-Key is not Name:value/);
    expect(setup.stderr).not.toContain('SECRET');
    const bare = await runCli(['token', '--url', 'http://127.0.0.1:9/mcp', '--header', SECRET], e.env);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/a --header value is not Name:value/);
    expect(bare.stderr).not.toContain('SECRET');
  });

  it('a --header-file line that is not a header: named by its header, never shown', async () => {
    const e = env();
    const file = join(e.dir, 'headers');
    writeFileSync(file, `# keys\nX-Api-Key ${SECRET}\n`);
    const r = await runCli(['token', '--url', 'http://127.0.0.1:9/mcp', '--header-file', file], e.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/X-Api-Key is not Name:value/);
    expect(r.stderr).not.toContain('SECRET');
  });

  it('--url (or APPWRITE_MCP_URL) with user:password@ is refused: a usage error, not echoed, nothing stored', async () => {
    for (const [args, extra] of [
      [['login', '--url', `https://admin:${SECRET}@mcp.example.test/`], {}],
      [['status', '--url', `http://admin:${SECRET}@127.0.0.1:9/mcp`], {}],
      [['setup', 'cursor', '--url', `https://admin:${SECRET}@mcp.example.test/`], {}],
      [['token'], { APPWRITE_MCP_URL: `https://${SECRET}@mcp.example.test/` }],
    ] as Array<[string[], NodeJS.ProcessEnv]>) {
      const e = env({ ...extra, HOME: tempConfigDir().dir });
      const r = await runCli(args, e.env);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/has credentials in it \(user:password@\): they would be sent to every server and kept in the sign-in's name/);
      expect(r.stderr + r.stdout).not.toContain('SECRET');
      expect(everything(e.dir)).not.toContain('SECRET');
    }
  });
});
