// The command line itself: help, version, usage errors and their exit codes.
import { afterAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runCli, tempConfigDir } from '../helpers/cli.js';
import { signInsAt } from '../helpers/stored.js';

const config = tempConfigDir();
afterAll(() => config.cleanup());
const env = () => ({ APPWRITE_MCP_CONFIG_DIR: config.dir });

describe('command line', () => {
  it('prints the version and a help that lists every command', async () => {
    const version = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')).version;
    expect((await runCli(['--version'], env())).stdout.trim()).toBe(version);
    const help = await runCli(['--help'], env());
    expect(help.code).toBe(0);
    for (const word of ['proxy', 'login', 'status', 'logout', 'APPWRITE_MCP_TOKEN', 'Exit codes']) expect(help.stdout).toContain(word);
    const proxyHelp = await runCli(['proxy', '--help'], env());
    for (const flag of ['--url', '--header', '--auth-timeout', '--no-browser', '--debug']) expect(proxyHelp.stdout).toContain(flag);
  });

  it('exits 2 with a clear message on usage errors', async () => {
    const [unknown, flag, timeout, header] = await Promise.all([
      runCli(['logn'], env()),
      runCli(['login', '--scopes', 'x'], env()),
      runCli(['--auth-timeout', '90'], env()),
      runCli(['--header', 'Authorization: Bearer x'], env()),
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "logn"');
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("unknown option '--scopes'");
    expect(timeout.code).toBe(2);
    expect(timeout.stderr).toContain('MCP clients give initialize 60 s at most');
    expect(header.code).toBe(2);
    expect(header.stderr).toContain('--header Authorization is not allowed');
  });

  it('status exits 3 when not signed in, naming the command that fixes it', async () => {
    const r = await runCli(['status', '--url', 'https://mcp.example.com/p1/mcp'], env());
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/Run: node \S+\/bin\/appwrite-mcp\.js login --url https:\/\/mcp\.example\.com\/p1\/mcp/);
  });

  it('takes global flags before or after the command, -V and -v, and suggests a mistyped command', async () => {
    const version = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')).version;
    const [upper, lower, before, after, typo] = await Promise.all([
      runCli(['-V'], env()), runCli(['-v'], env()),
      runCli(['--url', 'https://x.example/mcp', 'status'], env()), runCli(['status', '--url', 'https://x.example/mcp'], env()),
      runCli(['stauts'], env()),
    ]);
    for (const r of [upper, lower]) expect(r.stdout.trim()).toBe(version);
    for (const r of [before, after]) {
      expect(r.code, r.stderr).toBe(3);
      expect(r.stdout).toContain('Not signed in to https://x.example/mcp');
    }
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('Did you mean status?');
  });

  it('takes mcp-remote\'s forms: `<url> [callback port]` positionally, --silent, --static-oauth-client-info, --transport names', async () => {
    const [url, port, twice, silent, disagree, both, protocol, host, noOps, clash, transport] = await Promise.all([
      // The positional URL is the server URL (a plain-http non-loopback one is refused, naming it) …
      runCli(['http://mcp.example.com/mcp'], env()),
      // … and the number after it the callback port.
      runCli(['https://mcp.example.com/mcp', '99999'], env()),
      runCli(['https://a.example/mcp', '--url', 'https://b.example/mcp'], env()),
      runCli(['--silent', 'status', '--url', 'https://x.example/mcp'], env()),
      runCli(['https://mcp.example.com/mcp', '--static-oauth-client-info', '{"client_id":"a","client_secret":"${NOT_SET_ANYWHERE_42}"}'], env()),
      runCli(['https://mcp.example.com/mcp', '--client-id', 'b', '--static-oauth-client-info', '{"client_id":"a"}'], env()),
      runCli(['https://mcp.example.com/mcp', '--protocol', 'legacy', '--transport', 'sse-only', '--auth-timeout', '90'], env()),
      runCli(['https://mcp.example.com/mcp', '--host', 'example.com'], env()),
      runCli(['https://mcp.example.com/mcp', '--enable-proxy', '--disable-cookies', '--keep-alive', '--auth-timeout', '90'], env()),
      runCli(['https://mcp.example.com/mcp', '--transport', 'sse', '--protocol', 'modern'], env()),
      runCli(['https://mcp.example.com/mcp', '--transport', 'websocket'], env()),
    ]);
    expect(url.code).toBe(2);
    expect(url.stderr).toContain('http://mcp.example.com/mcp');
    expect(port.code).toBe(2);
    expect(port.stderr).toContain('--callback-port "99999" is not a port number');
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('two server URLs');
    expect(silent.code, silent.stderr).toBe(3);
    expect(disagree.code).toBe(2);
    expect(disagree.stderr).toContain('the environment variable NOT_SET_ANYWHERE_42 is not set');
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('disagree');
    expect(protocol.code).toBe(2);
    expect(protocol.stderr).toContain('MCP clients give initialize 60 s at most'); // both names taken; the timeout is what is refused
    expect(host.code).toBe(2);
    expect(host.stderr).toContain('"example.com" is not a loopback host');
    expect(noOps.code).toBe(2);
    expect(noOps.stderr).toContain('MCP clients give initialize 60 s at most');
    expect(clash.code).toBe(2);
    expect(clash.stderr).toContain('the HTTP+SSE transport (2024-11-05) predates MCP 2026-07-28');
    expect(transport.code).toBe(2);
    expect(transport.stderr).toContain('mcp-remote\'s http-first, http-only, sse-only and sse-first work too');
  });

  it('--help names every environment variable the CLI reads', async () => {
    const help = (await runCli(['--help'], env())).stdout;
    const read = new Set<string>();
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else for (const m of readFileSync(path, 'utf8').matchAll(/\benv\.([A-Z][A-Z0-9_]+)|process\.env\.([A-Z][A-Z0-9_]+)/g)) read.add((m[1] ?? m[2])!);
      }
    };
    walk(join(ROOT, 'src'));
    // Read by dependencies' conventions, documented as such in the help: lower-case proxy variables,
    // XDG/APPDATA/HOME for paths, CI and the D-Bus address for the keychain probe, and the clients'
    // own variables for where their configs are (Codex, Claude Code: setup and doctor).
    const conventional = new Set(['CI', 'APPDATA', 'XDG_CONFIG_HOME', 'XDG_CACHE_HOME', 'XDG_RUNTIME_DIR', 'DBUS_SESSION_BUS_ADDRESS', 'CODEX_HOME', 'CLAUDE_CONFIG_DIR', 'PATH', 'PATHEXT', 'ComSpec', 'HOME', 'USERPROFILE', 'LOCALAPPDATA']);
    const missing = [...read].filter((name) => !conventional.has(name) && !help.includes(name));
    expect(read.size).toBeGreaterThan(10);
    expect(missing).toEqual([]);
  });

  it('reads defaults from config.json, per profile, and refuses a broken one naming it', async () => {
    const dir = tempConfigDir();
    try {
      const e = { APPWRITE_MCP_CONFIG_DIR: dir.dir };
      writeFileSync(join(dir.dir, 'config.json'), JSON.stringify({ url: 'https://a.example/mcp', profiles: { work: { url: 'https://b.example/mcp' } }, colour: 'blue' }));
      const plain = await runCli(['token'], e);
      expect(plain.code).toBe(3);
      expect(plain.stderr).toContain('not signed in to https://a.example/mcp');
      expect(plain.stderr).toContain('ignoring unknown setting "colour"');
      const work = await runCli(['token', '--profile', 'work'], e);
      expect(work.stderr).toContain('not signed in to https://b.example/mcp');
      expect(work.stderr).toMatch(/login --url https:\/\/b\.example\/mcp --profile work/);
      const flag = await runCli(['token', '--url', 'https://c.example/mcp'], { ...e, APPWRITE_MCP_PROFILE: 'work' });
      expect(flag.stderr).toContain('not signed in to https://c.example/mcp');
      writeFileSync(join(dir.dir, 'config.json'), JSON.stringify({ url: 'https://a.example/mcp', ignoreTools: ['admin_*'], allowTools: ['*'], readOnly: true, transport: 'sse', pingInterval: 30 }));
      const proxyKeys = await runCli(['token'], e);
      expect(proxyKeys.code).toBe(3);
      expect(proxyKeys.stderr).not.toContain('ignoring unknown setting');
      writeFileSync(join(dir.dir, 'config.json'), JSON.stringify({ transport: 'websocket' }));
      const wrong = await runCli(['status'], e);
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toContain('"transport" has the wrong type');
      writeFileSync(join(dir.dir, 'config.json'), '{ "url": ');
      const broken = await runCli(['status'], e);
      expect(broken.code).toBe(2);
      expect(broken.stderr).toContain(`${join(dir.dir, 'config.json')} is not valid JSON`);
    } finally {
      dir.cleanup();
    }
  });
});

describe('token, logout and status without a server named', () => {
  async function signedIn(dir: string, url: string, tokens: { accessToken: string; refreshToken?: string; expiresAt?: number }) {
    const signIns = signInsAt(dir, 'file');
    const as = { issuer: 'http://127.0.0.1:9/as', authorization_endpoint: 'http://127.0.0.1:9/as/auth', token_endpoint: 'http://127.0.0.1:9/as/token', revocation_endpoint: 'http://127.0.0.1:9/as/revoke' };
    await signIns.records.save({
      target: { url }, resource: url, as, client: { issuer: as.issuer, clientId: 'c', method: 'dcr', redirectUris: [], registeredAt: 1 },
      tokens: { obtainedAt: Date.now(), scopes: ['mcp:read'], ...tokens },
    }, await signIns.chooseStore());
  }

  it('token prints the stored token and nothing else; an expired one without refresh token is exit 3', async () => {
    const dir = tempConfigDir();
    try {
      const e = { APPWRITE_MCP_CONFIG_DIR: dir.dir, APPWRITE_MCP_STORE: 'file' };
      await signedIn(dir.dir, 'https://a.example/mcp', { accessToken: 'token-for-scripts-0123456789', expiresAt: Date.now() + 3_600_000 });
      const r = await runCli(['token', '--url', 'https://a.example/mcp'], e);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('token-for-scripts-0123456789\n');
      expect(r.stderr).toBe('');
      await signedIn(dir.dir, 'https://b.example/mcp', { accessToken: 'expired-token-0123456789', expiresAt: Date.now() - 1000 });
      const expired = await runCli(['token', '--url', 'https://b.example/mcp'], e);
      expect(expired.code).toBe(3);
      expect(expired.stdout).toBe('');
    } finally {
      dir.cleanup();
    }
  });

  it('logout without --url: the one sign-in there is; with several, a list and the flag to pass', async () => {
    const dir = tempConfigDir();
    try {
      const e = { APPWRITE_MCP_CONFIG_DIR: dir.dir, APPWRITE_MCP_STORE: 'file' };
      await signedIn(dir.dir, 'https://a.example/mcp', { accessToken: 'token-a-0123456789' });
      await signedIn(dir.dir, 'https://b.example/mcp', { accessToken: 'token-b-0123456789' });
      const several = await runCli(['logout'], e);
      expect(several.code).toBe(2);
      expect(several.stderr).toContain('signed in to 2 servers');
      expect(several.stderr).toContain('appwrite-mcp logout --url https://a.example/mcp');
      expect(several.stderr).toContain('appwrite-mcp logout --all');
      expect((await runCli(['logout', '--url', 'https://b.example/mcp'], e)).code).toBe(0);
      const one = await runCli(['logout'], e);
      expect(one.code, one.stderr).toBe(0);
      expect(one.stderr).toContain('Signing out of https://a.example/mcp');
      expect(one.stderr).toContain('removed the tokens from file');
      expect((await runCli(['status'], e)).code).toBe(3);
    } finally {
      dir.cleanup();
    }
  });
});
