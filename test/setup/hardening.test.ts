// Issue 19, "setup must never weaken or leak a config": each test below failed on the code before
// the fix (bb3858e) and passes now.
import { describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { read, runIn, useWorld, write } from './harness.js';
import { writeScript } from '../helpers/cli.js';

const world = useWorld();
const setup = (client: string, opts = {}, extras = {}) => runIn(world, client, opts, extras);
const A = 'https://cloud.example.com/proj-a/mcp';
const B = 'https://cloud.example.com/proj-b/mcp';
/** What a careful user adds to the entry by hand: safety flags, a header, a profile, a client. */
const MINE = ['--read-only', '--ignore-tool', 'delete_*', '--allow-tool', 'list_*', '--header', 'X-Appwrite-Project: ${PROJECT}', '--profile', 'work', '--client-id', 'cid-123', '--header-file', '/etc/appwrite-headers.txt'];

describe('1. re-running setup keeps what the user added', () => {
  const cursorFile = () => join(world.home, '.cursor/mcp.json');

  it('JSON: only the package pin and --url change; the user\'s flags, their order and env stay', async () => {
    write(cursorFile(), JSON.stringify({ mcpServers: { appwrite: { command: 'npx', args: ['-y', 'appwrite-mcp', '--url', A, ...MINE], env: { NODE_EXTRA_CA_CERTS: '/etc/ca.pem' } } } }, null, 2));
    const again = await setup('cursor');
    expect(again.code).toBe(0);
    let entry = JSON.parse(read(cursorFile())).mcpServers.appwrite;
    // Without --url the entry keeps its server: re-running setup after an upgrade only moves the pin.
    expect(entry).toEqual({ command: 'npx', args: ['-y', 'appwrite-mcp@0.1', '--url', A, ...MINE], env: { NODE_EXTRA_CA_CERTS: '/etc/ca.pem' } });
    expect(again.stderr).toContain('package: appwrite-mcp → appwrite-mcp@0.1');
    expect(again.stderr).toContain('kept your flags: --read-only, --ignore-tool, --allow-tool, --header, --profile, --client-id, --header-file');

    const moved = await setup('cursor', { url: B });
    entry = JSON.parse(read(cursorFile())).mcpServers.appwrite;
    expect(entry.args).toEqual(['-y', 'appwrite-mcp@0.1', '--url', B, ...MINE]);
    expect(moved.stderr).toContain(`--url: ${A} → ${B}`);

    await setup('cursor', { url: 'https://mcp.appwrite.io/' });
    expect(JSON.parse(read(cursorFile())).mcpServers.appwrite.args).toEqual(['-y', 'appwrite-mcp@0.1', ...MINE]);
    expect((await setup('cursor')).stderr).toContain('already set up');
  });

  it('TOML (Codex): the same, in config.toml', async () => {
    const path = join(world.home, '.codex/config.toml');
    write(path, `[mcp_servers.appwrite]\ncommand = "npx"\nargs = ${JSON.stringify(['-y', 'appwrite-mcp', ...MINE])}\nenv = { APPWRITE_MCP_PROFILE = "work" }\n`);
    expect((await setup('codex', { url: A })).code).toBe(0);
    expect(parseToml(read(path))).toEqual({ mcp_servers: { appwrite: { command: 'npx', args: ['-y', 'appwrite-mcp@0.1', '--url', A, ...MINE], env: { APPWRITE_MCP_PROFILE: 'work' } } } });
  });

  it('Claude Code: the entry it has is updated with remove + add-json, flags and env kept, env values never printed', async () => {
    const bin = join(world.root, 'bin');
    const log = join(world.root, 'claude.log');
    mkdirSync(bin);
    writeScript(bin, 'claude', `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a" >> '${log}'; done\necho --- >> '${log}'\n`);
    write(join(world.home, '.claude.json'), JSON.stringify({ numStartups: 4, mcpServers: { appwrite: { type: 'stdio', command: 'npx', args: ['-y', 'appwrite-mcp', '--url', A, ...MINE], env: { APPWRITE_MCP_CLIENT_SECRET: 'SECRET12' } } } }));
    const r = await setup('claude-code', {}, { env: { env: { PATH: bin } } });
    expect(r.code).toBe(0);
    const runs = read(log).split('---\n').filter(Boolean).map((chunk) => chunk.trimEnd().split('\n'));
    expect(runs[0]).toEqual(['mcp', 'remove', '--scope', 'user', 'appwrite']);
    expect(runs[1]!.slice(0, 5)).toEqual(['mcp', 'add-json', '--scope', 'user', 'appwrite']);
    expect(JSON.parse(runs[1]!.slice(5).join('\n'))).toEqual({ type: 'stdio', command: 'npx', args: ['-y', 'appwrite-mcp@0.1', '--url', A, ...MINE], env: { APPWRITE_MCP_CLIENT_SECRET: 'SECRET12' } });
    expect(r.stdout + r.stderr).not.toContain('SECRET12');
    expect(r.stderr).toContain('package: appwrite-mcp → appwrite-mcp@0.1');
  });

  it('mcp-remote\'s positional URL is the server too: replaced in place, never doubled with --url', async () => {
    write(cursorFile(), JSON.stringify({ mcpServers: { appwrite: { command: 'npx', args: ['-y', 'appwrite-mcp', A, '3334', '--read-only'] } } }));
    await setup('cursor', { url: B });
    expect(JSON.parse(read(cursorFile())).mcpServers.appwrite.args).toEqual(['-y', 'appwrite-mcp@0.1', B, '3334', '--read-only']);
  });
});

describe('2. Windows: nothing in the URL reaches cmd.exe as syntax', () => {
  const win = { env: { platform: 'win32' as const, env: { APPDATA: '' } } };
  const desktopFile = () => join(world.home, 'AppData/Roaming/Claude/claude_desktop_config.json');

  it.each([
    ['https://h.example/mcp?a=1&calc.exe', '&'],
    ['https://h.example/%GITHUB_TOKEN%/mcp', '%'],
    ['https://h.example/mcp?x=1|whoami', '|'],
    ['https://h.example/mcp?x=^', '^'],
  ])('refuses %s (%s) and writes nothing', async (url, char) => {
    const r = await setup('claude-desktop', { url }, win);
    expect(r.error?.exitCode).toBe(2);
    expect(r.error?.message).toContain(`"${char}"`);
    expect(r.error?.message).toContain('cmd.exe');
    expect(existsSync(dirname(desktopFile()))).toBe(false);
    expect((await setup('claude-desktop', { url, print: true }, win)).error?.exitCode).toBe(2);
  });

  it('the same URL is fine elsewhere, and the printed login line quotes it for the shell', async () => {
    const url = 'https://h.example/mcp?a=1&b=$HOME';
    const r = await setup('cursor', { url });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/ login --url 'https:\/\/h\.example\/mcp\?a=1&b=\$HOME'\n/);
    expect(JSON.parse(read(join(world.home, '.cursor/mcp.json'))).mcpServers.appwrite.args).toEqual(['-y', 'appwrite-mcp@0.1', '--url', url]);
  });

  it('on Windows the login line is quoted for cmd and PowerShell alike', async () => {
    const r = await setup('claude-desktop', { url: "https://h.example/it's/mcp" }, win);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(` login --url "https://h.example/it's/mcp"\n`);
  });
});

describe('3. --project never follows a symlink out of the project', () => {
  it('refuses a project file that is a symlink to a file outside, and changes nothing anywhere', async () => {
    const docker = join(world.home, '.docker/config.json');
    const secret = '{"auths": {"registry.example": {"auth": "dXNlcjpzZWNyZXQ="}}}';
    write(docker, secret);
    mkdirSync(join(world.project, '.vscode'));
    symlinkSync(docker, join(world.project, '.vscode/mcp.json'));
    const r = await setup('vscode', { project: true });
    expect(r.error?.exitCode).toBe(1);
    expect(r.error?.message).toContain(`${join(world.project, '.vscode/mcp.json')} is a symlink to ${docker}, outside the project`);
    expect(read(docker)).toBe(secret);
    expect(readdirSync(join(world.project, '.vscode'))).toEqual(['mcp.json']);
    expect(readdirSync(join(world.home, '.docker'))).toEqual(['config.json']);
    expect((await setup('vscode', { project: true, print: true })).stderr).not.toContain('dXNlcjpzZWNyZXQ');
  });

  it('refuses a symlinked folder that leaves the project, and a dangling symlink', async () => {
    mkdirSync(join(world.root, 'elsewhere'));
    symlinkSync(join(world.root, 'elsewhere'), join(world.project, '.cursor'));
    const r = await setup('cursor', { project: true });
    expect(r.error?.message).toContain('outside the project');
    expect(readdirSync(join(world.root, 'elsewhere'))).toEqual([]);
    mkdirSync(join(world.project, '.vscode'));
    symlinkSync(join(world.root, 'nowhere/mcp.json'), join(world.project, '.vscode/mcp.json'));
    expect((await setup('vscode', { project: true })).error?.message).toContain('is a symlink to a missing file');
    expect(existsSync(join(world.root, 'nowhere'))).toBe(false);
  });

  it('a symlink inside the project is followed: edits and backs up the real file, and prints its path', async () => {
    const real = join(world.project, 'config/shared-mcp.json');
    write(real, '{"mcpServers": {}}');
    mkdirSync(join(world.project, '.cursor'));
    symlinkSync('../config/shared-mcp.json', join(world.project, '.cursor/mcp.json'));
    const r = await setup('cursor', { project: true });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`added the server "appwrite" to ${real} (through the symlink ${join(world.project, '.cursor/mcp.json')})`);
    expect(JSON.parse(read(real)).mcpServers.appwrite.command).toBe('npx');
    expect(readdirSync(join(world.project, 'config')).sort()).toEqual(['shared-mcp.json', 'shared-mcp.json.20260304T050607Z.bak']);
    expect(readdirSync(join(world.project, '.cursor'))).toEqual(['mcp.json']);
  });
});

describe('4. other servers\' secrets are never printed', () => {
  const SECRETS = /SECRET|ghp_/;
  const foreign = { command: 'docker', args: ['run', '-i', '-e', 'GITHUB_PERSONAL_ACCESS_TOKEN=ghp_SECRET1', 'ghcr.io/github/github-mcp-server', '--token', 'SECRET2'], env: { GITHUB_TOKEN: 'SECRET3' }, headers: { Authorization: 'Bearer SECRET4' } };

  it('JSON: the "runs something else" error, --print and the --force "replaced" line show names only', async () => {
    const path = join(world.home, '.cursor/mcp.json');
    write(path, JSON.stringify({ mcpServers: { appwrite: foreign } }));
    const refused = await setup('cursor');
    const text = `${refused.error?.message}\n${refused.error?.hint}`;
    expect(text).not.toMatch(SECRETS);
    expect(text).toContain('docker');
    expect(text).toContain('env GITHUB_TOKEN');
    expect(text).toContain('headers Authorization');
    const printed = await setup('cursor', { print: true });
    expect(printed.stdout + printed.stderr).not.toMatch(SECRETS);
    const forced = await setup('cursor', { force: true });
    expect(forced.code).toBe(0);
    expect(forced.stderr).toContain('replaced');
    expect(forced.stderr).not.toMatch(SECRETS);
  });

  it('TOML: the same for a Codex table with env values', async () => {
    const path = join(world.home, '.codex/config.toml');
    write(path, '[mcp_servers.appwrite]\ncommand = "docker"\nargs = ["run", "--token", "SECRET5"]\nenv = { TOKEN = "SECRET6" }\n\n[mcp_servers.appwrite.env_http]\nKEY = "SECRET7"\n');
    const refused = await setup('codex');
    expect(`${refused.error?.message}\n${refused.error?.hint}`).not.toMatch(SECRETS);
    const forced = await setup('codex', { force: true });
    expect(forced.stderr).not.toMatch(SECRETS);
    expect(forced.stderr).toContain('replaced');
  });

  it('our own entry\'s header and client-secret values never appear in what changed', async () => {
    const path = join(world.home, '.cursor/mcp.json');
    const args = ['-y', 'appwrite-mcp', '--url', A, '--header', 'X-Appwrite-Key: SECRET8', '-H', 'Authorization:SECRET9', '--static-oauth-client-info', '{"client_id":"c","client_secret":"SECRET10"}'];
    write(path, JSON.stringify({ mcpServers: { appwrite: { command: 'npx', args, env: { APPWRITE_MCP_CLIENT_SECRET: 'SECRET11' } } } }));
    for (const opts of [{ url: B, print: true }, { url: B }]) {
      const r = await setup('cursor', opts);
      expect(r.code).toBe(0);
      expect(r.stdout + r.stderr).not.toMatch(SECRETS);
    }
    expect(JSON.parse(read(path)).mcpServers.appwrite.args).toEqual(['-y', 'appwrite-mcp@0.1', '--url', B, ...args.slice(4)]);
  });
});

describe('5. backups are private and bounded', () => {
  it('keeps the newest 5 backups, each mode 0600, whatever the config\'s mode', async () => {
    const path = join(world.home, '.cursor/mcp.json');
    write(path, '{"mcpServers": {}}');
    chmodSync(path, 0o644);
    for (let i = 1; i <= 8; i++) expect((await setup('cursor', { url: `https://cloud.example.com/p${i}/mcp` })).code).toBe(0);
    const backups = readdirSync(dirname(path)).filter((f) => f.endsWith('.bak')).sort();
    expect(backups).toHaveLength(5);
    for (const b of backups) expect(statSync(join(dirname(path), b)).mode & 0o777).toBe(0o600);
    expect(statSync(path).mode & 0o777).toBe(0o644);
    // The newest backup holds the state before the last run.
    expect(read(join(dirname(path), 'mcp.json.20260304T050607Z-7.bak'))).toContain('/p7/mcp');
    expect(backups).not.toContain('mcp.json.20260304T050607Z.bak');
  });
});
