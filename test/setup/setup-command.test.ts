// `setup` against real files in temp dirs, with the environment (platform, HOME, APPDATA, …)
// injected, so that every client and every platform's paths are exercised on this machine.
import { describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import type { SetupOptions } from '../../src/commands/setup.js';
import { runProgram, spawnSpec, findExecutable } from '../../src/setup/claude-code.js';
import { suggestClients, type SetupEnvironment } from '../../src/setup/clients.js';
import { writeScript } from '../helpers/cli.js';
import { read, runIn, useWorld, write } from './harness.js';

const world = useWorld();
const setup = (client: string, opts: SetupOptions = {}, env: Partial<SetupEnvironment> = {}) => runIn(world, client, opts, { env });
// The test world's paths, read when a test runs.
const w = new Proxy({} as { root: string; home: string; project: string }, { get: (_, k: 'root' | 'home' | 'project') => world[k] });
void runProgram;
const NPX = { command: 'npx', args: ['-y', 'appwrite-mcp@0.1'] };

describe('setup: where each client keeps its config', () => {
  it.each([
    ['claude-desktop', 'linux', {}, '.config/Claude/claude_desktop_config.json', 'mcpServers'],
    ['claude-desktop', 'linux', { XDG_CONFIG_HOME: '@/xdg' }, 'xdg/Claude/claude_desktop_config.json', 'mcpServers'],
    ['claude-desktop', 'darwin', {}, 'Library/Application Support/Claude/claude_desktop_config.json', 'mcpServers'],
    ['claude-desktop', 'win32', { APPDATA: '@/AppData/Roaming' }, 'AppData/Roaming/Claude/claude_desktop_config.json', 'mcpServers'],
    ['cursor', 'linux', {}, '.cursor/mcp.json', 'mcpServers'],
    ['windsurf', 'darwin', {}, '.codeium/windsurf/mcp_config.json', 'mcpServers'],
    ['vscode', 'linux', {}, '.config/Code/User/mcp.json', 'servers'],
    ['vscode', 'darwin', {}, 'Library/Application Support/Code/User/mcp.json', 'servers'],
    ['vscode', 'win32', { APPDATA: '@/AppData/Roaming' }, 'AppData/Roaming/Code/User/mcp.json', 'servers'],
  ] as const)('%s on %s %j → ~/%s', async (client, platform, env, file, key) => {
    const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replace('@', w.home)]));
    const r = await setup(client, {}, { platform, env: resolved });
    expect(r.error).toBeUndefined();
    const path = join(w.home, file);
    expect(r.stderr).toContain(`created ${path}`);
    const entry = JSON.parse(read(path))[key].appwrite;
    const command = platform === 'win32' ? { command: 'cmd', args: ['/c', 'npx', '-y', 'appwrite-mcp@0.1'] } : NPX;
    expect(entry).toEqual(client === 'vscode' ? { type: 'stdio', ...command } : command);
  });

  it('codex: ~/.codex/config.toml, or $CODEX_HOME/config.toml', async () => {
    await setup('codex');
    expect(parseToml(read(join(w.home, '.codex/config.toml')))).toEqual({ mcp_servers: { appwrite: NPX } });
    const codexHome = join(w.root, 'codex-home');
    await setup('codex', { url: 'https://mcp.example.com/p1/mcp' }, { env: { CODEX_HOME: codexHome } });
    expect(parseToml(read(join(codexHome, 'config.toml')))).toEqual({ mcp_servers: { appwrite: { command: 'npx', args: ['-y', 'appwrite-mcp@0.1', '--url', 'https://mcp.example.com/p1/mcp'] } } });
  });

  it('--project: the project\'s .cursor/mcp.json and .vscode/mcp.json (the current dir, or the one given)', async () => {
    await setup('cursor', { project: true });
    expect(JSON.parse(read(join(w.project, '.cursor/mcp.json'))).mcpServers.appwrite).toEqual(NPX);
    await setup('vscode', { project: 'sub' });
    expect(JSON.parse(read(join(w.project, 'sub/.vscode/mcp.json'))).servers.appwrite).toEqual({ type: 'stdio', ...NPX });
    expect(existsSync(join(w.home, '.cursor'))).toBe(false);
    const r = await setup('windsurf', { project: true });
    expect(r.error?.exitCode).toBe(2);
    expect(r.error?.message).toBe('Windsurf has no per-project config; --project works with claude-code, copilot-cli, cursor, gemini-cli, jetbrains, junie, opencode, roo-code, vscode, zed');
  });
});

describe('setup: editing a file', () => {
  const cursorFile = () => join(w.home, '.cursor/mcp.json');
  const existing = '{\n    "mcpServers": {\n        "github": {"command": "docker", "args": ["run", "-i", "ghcr.io/github/github-mcp-server"], "env": {"TOKEN": "t"}}\n    },\n    "unknownKey": [1, 2]\n}\n';

  it('adds beside the other servers, keeps them byte for byte, and backs up the previous file with its mode', async () => {
    write(cursorFile(), existing);
    chmodSync(cursorFile(), 0o600);
    const r = await setup('cursor');
    expect(r.code).toBe(0);
    const after = read(cursorFile());
    expect(after.startsWith('{\n    "mcpServers": {\n        "github": {"command": "docker", "args": ["run", "-i", "ghcr.io/github/github-mcp-server"], "env": {"TOKEN": "t"}},\n')).toBe(true);
    expect(after.endsWith('\n    },\n    "unknownKey": [1, 2]\n}\n')).toBe(true);
    expect(JSON.parse(after).mcpServers.appwrite).toEqual(NPX);
    expect(statSync(cursorFile()).mode & 0o777).toBe(0o600);
    const backup = `${cursorFile()}.20260304T050607Z.bak`;
    expect(read(backup)).toBe(existing);
    expect(statSync(backup).mode & 0o777).toBe(0o600);
    expect(r.stderr).toContain(`✓ Cursor: added the server "appwrite" to ${cursorFile()}`);
    expect(r.stderr).toContain(`The previous file is saved as ${backup}`);
    expect(r.stderr).toContain('Sign in now so that Cursor never waits for it: npx appwrite-mcp login');
    expect(r.stdout).toBe('');
    expect(readdirSync(dirname(cursorFile())).sort()).toEqual(['mcp.json', 'mcp.json.20260304T050607Z.bak']);
  });

  it('is idempotent: the second run changes nothing, writes no backup, and says so', async () => {
    write(cursorFile(), existing);
    await setup('cursor');
    const once = read(cursorFile());
    const mtime = statSync(cursorFile()).mtimeMs;
    const r = await setup('cursor');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`✓ Cursor: "appwrite" is already set up in ${cursorFile()}; nothing changed.\n`);
    expect(read(cursorFile())).toBe(once);
    expect(statSync(cursorFile()).mtimeMs).toBe(mtime);
    expect(readdirSync(dirname(cursorFile()))).toHaveLength(2);
  });

  it('updates an entry whose args changed, says what changed, and never overwrites an older backup', async () => {
    await setup('windsurf');
    const path = join(w.home, '.codeium/windsurf/mcp_config.json');
    const r = await setup('windsurf', { url: 'https://cloud.example.com/proj1/mcp' });
    expect(r.code).toBe(0);
    expect(JSON.parse(read(path)).mcpServers.appwrite.args).toEqual(['-y', 'appwrite-mcp@0.1', '--url', 'https://cloud.example.com/proj1/mcp']);
    expect(r.stderr).toContain('updated the server "appwrite"');
    expect(r.stderr).toContain('--url: (none: the default server) → https://cloud.example.com/proj1/mcp');
    expect(r.stderr).toContain('--name <another name>');
    await setup('windsurf', { url: 'https://cloud.example.com/proj2/mcp' });
    expect(readdirSync(dirname(path)).sort()).toEqual(['mcp_config.json', 'mcp_config.json.20260304T050607Z-1.bak', 'mcp_config.json.20260304T050607Z.bak']);
    expect(JSON.parse(read(`${path}.20260304T050607Z.bak`)).mcpServers.appwrite.args).toEqual(['-y', 'appwrite-mcp@0.1']);
  });

  it('--name adds a second entry beside the first', async () => {
    await setup('cursor');
    await setup('cursor', { name: 'appwrite-p1', url: 'https://cloud.example.com/p1/mcp' });
    expect(Object.keys(JSON.parse(read(cursorFile())).mcpServers)).toEqual(['appwrite', 'appwrite-p1']);
    expect((await setup('cursor', { name: 'bad name' })).error?.exitCode).toBe(2);
  });

  it('refuses a file it cannot parse, says which and where, and leaves it untouched', async () => {
    const broken = '{\n  "mcpServers": {\n    "a": {"command": "x"},\n  }\n}\n';
    write(cursorFile(), broken);
    const mtime = statSync(cursorFile()).mtimeMs;
    const r = await setup('cursor');
    expect(r.error?.exitCode).toBe(1);
    expect(r.error?.message).toBe(`cannot update ${cursorFile()}: line 4, column 3: trailing comma before "}" (this client reads the file as plain JSON)`);
    expect(r.error?.hint).toBe('Nothing was changed. Fix the file, or add the entry by hand: appwrite-mcp setup cursor --print shows it.');
    expect(read(cursorFile())).toBe(broken);
    expect(statSync(cursorFile()).mtimeMs).toBe(mtime);
    expect(readdirSync(dirname(cursorFile()))).toEqual(['mcp.json']);
  });

  it('refuses a file that is not UTF-8', async () => {
    mkdirSync(dirname(cursorFile()), { recursive: true });
    writeFileSync(cursorFile(), Buffer.from([0x7b, 0xff, 0x7d]));
    const r = await setup('cursor');
    expect(r.error?.message).toBe(`cannot edit ${cursorFile()}: it is not UTF-8 text`);
    expect(readFileSync(cursorFile())).toEqual(Buffer.from([0x7b, 0xff, 0x7d]));
  });

  it('refuses another server\'s entry of the same name; --force replaces it', async () => {
    const foreign = '{"mcpServers": {"appwrite": {"command": "uvx", "args": ["mcp-server-appwrite"]}}}';
    write(cursorFile(), foreign);
    const r = await setup('cursor');
    expect(r.error?.message).toContain('already has an entry named "appwrite" that runs something else (command "uvx"; 1 argument)');
    expect(read(cursorFile())).toBe(foreign);
    const forced = await setup('cursor', { force: true });
    expect(forced.code).toBe(0);
    expect(forced.stderr).toContain('replaced the server "appwrite"');
    expect(JSON.parse(read(cursorFile())).mcpServers.appwrite).toEqual(NPX);
  });

  it('VS Code: keeps comments and trailing commas in its JSONC mcp.json', async () => {
    const path = join(w.project, '.vscode/mcp.json');
    const before = '{\n  // servers for this repo\n  "servers": {\n    "db": { "type": "stdio", "command": "db-mcp" }, /* local */\n  },\n  "inputs": [],\n}\n';
    write(path, before);
    expect((await setup('vscode', { project: true })).code).toBe(0);
    const after = read(path);
    expect(after).toBe('{\n  // servers for this repo\n  "servers": {\n    "db": { "type": "stdio", "command": "db-mcp" }, /* local */\n    "appwrite": {\n      "type": "stdio",\n      "command": "npx",\n      "args": ["-y", "appwrite-mcp@0.1"]\n    },\n  },\n  "inputs": [],\n}\n');
    expect((await setup('vscode', { project: true })).stderr).toContain('already set up');
  });

  it('Codex: edits its table and leaves the rest of config.toml byte for byte', async () => {
    const path = join(w.home, '.codex/config.toml');
    const before = 'model = "o3"  # default\n\n[mcp_servers.context7]\ncommand = "npx"\nargs = ["-y", "@upstash/context7-mcp"]\n';
    write(path, before);
    expect((await setup('codex')).code).toBe(0);
    expect(read(path)).toBe(`${before}\n[mcp_servers.appwrite]\ncommand = "npx"\nargs = ["-y", "appwrite-mcp@0.1"]\n`);
    expect((await setup('codex')).stderr).toContain('already set up');
    const broken = 'model = "o3\n';
    write(path, broken);
    const r = await setup('codex');
    expect(r.error?.message).toBe(`cannot update ${path}: line 1, column 12: line break inside a string`);
    expect(read(path)).toBe(broken);
  });

  it('writes through a symlink (dotfile managers) instead of replacing it, with the backup beside the real file', async () => {
    const real = join(w.root, 'dotfiles/cursor-mcp.json');
    write(real, '{"mcpServers": {}}');
    mkdirSync(join(w.home, '.cursor'));
    symlinkSync(real, cursorFile());
    const r = await setup('cursor');
    expect(r.stderr).toContain(`added the server "appwrite" to ${real} (through the symlink ${cursorFile()})`);
    expect(JSON.parse(read(real)).mcpServers.appwrite).toEqual(NPX);
    expect(readdirSync(join(w.home, '.cursor'))).toEqual(['mcp.json']);
    expect(statSync(cursorFile()).isFile()).toBe(true);
    expect(readdirSync(join(w.root, 'dotfiles')).sort()).toEqual(['cursor-mcp.json', 'cursor-mcp.json.20260304T050607Z.bak']);
  });

  it('Windows: cmd /c npx, in the file and in what it prints', async () => {
    const env = { platform: 'win32' as const, env: { APPDATA: join(w.home, 'AppData/Roaming') } };
    await setup('claude-desktop', { url: 'https://mcp.example.com/p1/mcp' }, env);
    const entry = JSON.parse(read(join(w.home, 'AppData/Roaming/Claude/claude_desktop_config.json'))).mcpServers.appwrite;
    expect(entry).toEqual({ command: 'cmd', args: ['/c', 'npx', '-y', 'appwrite-mcp@0.1', '--url', 'https://mcp.example.com/p1/mcp'] });
    const printed = await setup('codex', { print: true }, env);
    expect(printed.stdout).toBe('[mcp_servers.appwrite]\ncommand = "cmd"\nargs = ["/c", "npx", "-y", "appwrite-mcp@0.1"]\n');
    // An entry in the Linux form is ours: it is updated to the Windows form.
    write(join(w.home, '.cursor/mcp.json'), JSON.stringify({ mcpServers: { appwrite: NPX } }, null, 2));
    const r = await setup('cursor', {}, env);
    expect(r.stderr).toContain('runs: npx -y appwrite-mcp@0.1 → cmd /c npx -y appwrite-mcp@0.1');
    expect(JSON.parse(read(join(w.home, '.cursor/mcp.json'))).mcpServers.appwrite).toEqual({ command: 'cmd', args: ['/c', 'npx', '-y', 'appwrite-mcp@0.1'] });
  });
});

describe('setup --print', () => {
  it('shows the path and the snippet and changes nothing', async () => {
    const r = await setup('claude-desktop', { print: true, url: 'https://mcp.example.com/p1/mcp' });
    const path = join(w.home, '.config/Claude/claude_desktop_config.json');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('{\n  "mcpServers": {\n    "appwrite": {\n      "command": "npx",\n      "args": ["-y", "appwrite-mcp@0.1", "--url", "https://mcp.example.com/p1/mcp"]\n    }\n  }\n}\n');
    expect(r.stderr).toBe(`Claude Desktop reads ${path}; the entry goes under "mcpServers":\n(--print changed nothing; setup would create the file)\n  Claude Desktop's own documentation of this file: https://modelcontextprotocol.io/docs/develop/connect-local-servers\n`);
    expect(existsSync(join(w.home, '.config'))).toBe(false);
  });

  it('says what setup would do to the file as it is', async () => {
    const path = join(w.home, '.cursor/mcp.json');
    write(path, '{"mcpServers": {"appwrite": {"command": "npx", "args": ["-y", "appwrite-mcp@0.0.1"]}}}');
    const r = await setup('cursor', { print: true });
    expect(r.stderr).toContain('setup would update "appwrite": package: appwrite-mcp@0.0.1 → appwrite-mcp@0.1');
    expect(read(path)).toBe('{"mcpServers": {"appwrite": {"command": "npx", "args": ["-y", "appwrite-mcp@0.0.1"]}}}');
    write(path, '{');
    expect((await setup('cursor', { print: true })).stderr).toContain('setup could not edit the file as it is: line 1, column 2');
    expect(readdirSync(dirname(path))).toEqual(['mcp.json']);
  });

  it('VS Code and Codex snippets', async () => {
    expect((await setup('vscode', { print: true, name: 'aw' })).stdout).toBe('{\n  "servers": {\n    "aw": {\n      "type": "stdio",\n      "command": "npx",\n      "args": ["-y", "appwrite-mcp@0.1"]\n    }\n  }\n}\n');
    const codex = await setup('codex', { print: true });
    expect(codex.stdout).toBe('[mcp_servers.appwrite]\ncommand = "npx"\nargs = ["-y", "appwrite-mcp@0.1"]\n');
    expect(codex.stderr).toContain(`Codex reads ${join(w.home, '.codex/config.toml')}; the entry goes as the table [mcp_servers.appwrite]:`);
  });
});

describe('setup: usage errors', () => {
  it('an unknown client exits 2, lists the clients and suggests the closest', async () => {
    const r = await setup('curser');
    expect(r.error?.exitCode).toBe(2);
    expect(r.error?.message).toBe('unknown client "curser"');
    expect(r.error?.hint).toBe('Did you mean cursor? Clients: claude-desktop, claude-code, cline, codex, copilot-cli, cursor, gemini-cli, goose, jetbrains, junie, lm-studio, opencode, roo-code, vscode, windsurf, zed.');
    expect(suggestClients('claude')).toEqual(['claude-desktop', 'claude-code']);
    expect(suggestClients('vs-code')).toEqual(['vscode']);
    expect(suggestClients('code')).toEqual(['claude-code', 'codex', 'opencode', 'roo-code', 'vscode']);
    expect(suggestClients('gemni')).toEqual(['gemini-cli']);
    expect(suggestClients('notepad')).toEqual([]);
    expect((await setup('notepad')).error?.hint).toBe('Clients: claude-desktop, claude-code, cline, codex, copilot-cli, cursor, gemini-cli, goose, jetbrains, junie, lm-studio, opencode, roo-code, vscode, windsurf, zed.');
  });

  it('a bad --url exits 2 and writes nothing', async () => {
    const r = await setup('cursor', { url: 'http://example.com/mcp' });
    expect(r.error?.exitCode).toBe(2);
    expect(r.error?.message).toContain('plain http://');
    expect(existsSync(join(w.home, '.cursor'))).toBe(false);
  });
});

describe('setup claude-code', () => {
  /** A fake `claude` that records its arguments and working dir, and answers as told. */
  function fakeClaude(body = 'exit 0'): { bin: string; log: string } {
    const bin = join(w.root, 'bin');
    mkdirSync(bin, { recursive: true });
    const log = join(w.root, 'claude.log');
    writeScript(bin, 'claude', `#!/bin/sh\necho "$PWD: $*" >> '${log}'\n${body}\n`);
    return { bin, log };
  }

  it('runs claude mcp add (user scope) when claude is on PATH, and says so', async () => {
    const { bin, log } = fakeClaude('echo "Added stdio MCP server appwrite to user config"');
    const r = await setup('claude-code', { url: 'https://mcp.example.com/p1/mcp' }, { env: { PATH: bin } });
    expect(r.code).toBe(0);
    expect(read(log)).toBe(`${w.project}: mcp add --scope user appwrite -- npx -y appwrite-mcp@0.1 --url https://mcp.example.com/p1/mcp\n`);
    expect(r.stderr).toContain('✓ Claude Code: ran claude mcp add --scope user appwrite -- npx -y appwrite-mcp@0.1 --url https://mcp.example.com/p1/mcp');
    expect(r.stderr).toContain('    Added stdio MCP server appwrite to user config');
    expect(r.stdout).toBe('');
  });

  it('--project: project scope, run in that directory', async () => {
    const { bin, log } = fakeClaude();
    mkdirSync(join(w.project, 'app'));
    await setup('claude-code', { project: 'app' }, { env: { PATH: bin } });
    expect(read(log)).toBe(`${join(w.project, 'app')}: mcp add --scope project appwrite -- npx -y appwrite-mcp@0.1\n`);
  });

  it('prints the line when claude is not on PATH, or with --print, running nothing', async () => {
    const missing = await setup('claude-code', {}, { env: { PATH: join(w.root, 'nowhere') } });
    expect(missing.code).toBe(0);
    expect(missing.stdout).toBe('claude mcp add --scope user appwrite -- npx -y appwrite-mcp@0.1\n');
    expect(missing.stderr).toContain("Claude Code's `claude` command is not on PATH");
    const { bin, log } = fakeClaude();
    const printed = await setup('claude-code', { print: true }, { env: { PATH: bin }, platform: 'linux' });
    expect(printed.stdout).toBe('claude mcp add --scope user appwrite -- npx -y appwrite-mcp@0.1\n');
    expect(existsSync(log)).toBe(false);
    const win = await setup('claude-code', { print: true }, { platform: 'win32' });
    expect(win.stdout).toBe('claude mcp add --scope user appwrite -- cmd /c npx -y appwrite-mcp@0.1\n');
  });

  it('an existing server of that name is left alone; --force removes it first', async () => {
    const { bin, log } = fakeClaude('case "$2" in add) [ -f "$0.removed" ] && exit 0; echo "MCP server appwrite already exists in user config" >&2; exit 1;; remove) : > "$0.removed";; esac');
    const r = await setup('claude-code', {}, { env: { PATH: bin } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Claude Code already has an MCP server named "appwrite" (user scope); it was left as it is.');
    expect(r.stderr).toContain('--force');
    const forced = await setup('claude-code', { force: true }, { env: { PATH: bin } });
    expect(forced.code).toBe(0);
    expect(read(log).trim().split('\n').slice(1)).toEqual([`${w.project}: mcp remove --scope user appwrite`, `${w.project}: mcp add --scope user appwrite -- npx -y appwrite-mcp@0.1`]);
    expect(forced.stderr).toContain("✓ Claude Code: ran");
  });

  it('a failing claude is an error with its output', async () => {
    const { bin } = fakeClaude('echo "boom" >&2; exit 3');
    const r = await setup('claude-code', {}, { env: { PATH: bin } });
    expect(r.error?.exitCode).toBe(1);
    expect(r.error?.message).toBe('claude mcp add --scope user appwrite -- npx -y appwrite-mcp@0.1 failed (exit code 3):\n    boom');
  });

  it('on Windows finds claude.cmd through PATHEXT and runs it through cmd.exe with quoted arguments', async () => {
    const bin = join(w.root, 'winbin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'claude.cmd'), '@echo off\n');
    const e: SetupEnvironment = { platform: 'win32', env: { Path: `${join(w.root, 'none')};${bin}`, PATHEXT: '.COM;.EXE;.BAT;.CMD' }, home: w.home, cwd: w.project };
    expect(await findExecutable('claude', e)).toBe(join(bin, 'claude.cmd'));
    expect(spawnSpec('C:\\Users\\me\\AppData\\Roaming\\npm\\claude.cmd', ['mcp', 'add', 'appwrite', '--', 'cmd', '/c', 'npx', '--url', 'https://h/mcp?a=1&b=2'], 'win32')).toEqual({
      command: 'cmd.exe',
      args: ['/d', '/s', '/c', '"C:\\Users\\me\\AppData\\Roaming\\npm\\claude.cmd mcp add appwrite -- cmd /c npx --url "https://h/mcp?a=1&b=2""'],
      windowsVerbatimArguments: true,
    });
    // cmd.exe would expand %…% even inside quotes: refuse to run, so the line is printed instead.
    expect(spawnSpec('claude.cmd', ['--url', 'https://h/%41'], 'win32')).toBeUndefined();
    expect(spawnSpec('C:\\claude.exe', ['mcp'], 'win32')).toEqual({ command: 'C:\\claude.exe', args: ['mcp'] });
  });
});
