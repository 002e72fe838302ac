// `appwrite-mcp setup` as users run it: the built CLI as a child process, HOME in a temp dir.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempConfigDir, writeScript } from '../helpers/cli.js';

const tmp = tempConfigDir();
afterAll(() => tmp.cleanup());
const home = join(tmp.dir, 'home');
const bin = join(tmp.dir, 'bin');
const claudeLog = join(tmp.dir, 'claude.log');
beforeAll(() => {
  mkdirSync(home);
  mkdirSync(bin);
  writeScript(bin, 'claude', `#!/bin/sh\necho "$*" >> '${claudeLog}'\necho "Added stdio MCP server $5 to user config"\n`);
});
// PATH holds only the fake `claude`: a real one on this machine is never run.
const env = () => ({ HOME: home, XDG_CONFIG_HOME: '', CODEX_HOME: '', PATH: bin, APPWRITE_MCP_CONFIG_DIR: join(tmp.dir, 'state') });
const cursorFile = join(home, '.cursor/mcp.json');

describe('appwrite-mcp setup', () => {
  it('is listed in the help, with its clients and files', async () => {
    expect((await runCli(['--help'], env())).stdout).toContain('setup [options] <client>');
    const help = await runCli(['setup', '--help'], env());
    expect(help.code).toBe(0);
    for (const word of ['claude-desktop', 'claude-code', 'cline', 'codex', 'copilot-cli', 'cursor', 'gemini-cli', 'goose', 'jetbrains', 'junie', 'lm-studio', 'opencode', 'roo-code', 'vscode', 'windsurf', 'zed', '--url', '--name', '--project', '--print', '--force', '.bak', 'appwrite-mcp@<major>', '@latest setup']) expect(help.stdout).toContain(word);
  });

  it('adds the entry, keeps the other servers, and says "already set up" the second time', async () => {
    mkdirSync(join(home, '.cursor'));
    const before = '{\n  "mcpServers": {\n    "other": { "command": "uvx", "args": ["other-mcp"] }\n  }\n}\n';
    writeFileSync(cursorFile, before);
    const first = await runCli(['setup', 'cursor', '--url', 'https://mcp.example.com/p1/mcp'], env());
    expect(first.code).toBe(0);
    expect(first.stdout).toBe('');
    expect(first.stderr).toContain(`✓ Cursor: added the server "appwrite" to ${cursorFile}`);
    expect(first.stderr).toMatch(/bin\/appwrite-mcp\.js login --url https:\/\/mcp\.example\.com\/p1\/mcp/);
    const config = JSON.parse(readFileSync(cursorFile, 'utf8'));
    expect(config.mcpServers).toEqual({
      other: { command: 'uvx', args: ['other-mcp'] },
      appwrite: { command: 'npx', args: ['-y', 'appwrite-mcp@0.1', '--url', 'https://mcp.example.com/p1/mcp'] },
    });
    const backups = readdirSync(join(home, '.cursor')).filter((f) => f.endsWith('.bak'));
    expect(backups).toHaveLength(1);
    expect(readFileSync(join(home, '.cursor', backups[0]!), 'utf8')).toBe(before);

    const second = await runCli(['setup', 'cursor', '--url', 'https://mcp.example.com/p1/mcp'], env());
    expect(second.code).toBe(0);
    expect(second.stderr).toBe(`✓ Cursor: "appwrite" is already set up in ${cursorFile}; nothing changed.\n`);
    expect(readdirSync(join(home, '.cursor')).filter((f) => f.endsWith('.bak'))).toHaveLength(1);
  });

  it('--print shows the file and the snippet and writes nothing', async () => {
    const r = await runCli(['setup', 'vscode', '--print'], env());
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ servers: { appwrite: { type: 'stdio', command: 'npx', args: ['-y', 'appwrite-mcp@0.1'] } } });
    expect(r.stderr).toContain(`VS Code reads ${join(home, '.config/Code/User/mcp.json')}`);
    expect(existsSync(join(home, '.config'))).toBe(false);
  });

  it('writes Codex\'s config.toml', async () => {
    const r = await runCli(['setup', 'codex'], env());
    expect(r.code).toBe(0);
    expect(readFileSync(join(home, '.codex/config.toml'), 'utf8')).toBe('[mcp_servers.appwrite]\ncommand = "npx"\nargs = ["-y", "appwrite-mcp@0.1"]\n');
  });

  it('writes Goose\'s config.yaml, and keeps the flags the user adds when run again', async () => {
    const path = join(home, '.config/goose/config.yaml');
    mkdirSync(join(home, '.config/goose'), { recursive: true });
    writeFileSync(path, '# goose\nGOOSE_MODEL: gpt-4o\n');
    expect((await runCli(['setup', 'goose'], env())).code).toBe(0);
    writeFileSync(path, readFileSync(path, 'utf8').replace('args: ["-y", "appwrite-mcp@0.1"]', 'args: ["-y", "appwrite-mcp@0.1", "--read-only"]'));
    const again = await runCli(['setup', 'goose', '--url', 'https://mcp.example.com/p1/mcp'], env());
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('kept your flags: --read-only');
    expect(readFileSync(path, 'utf8')).toContain('args: ["-y", "appwrite-mcp@0.1", "--url", "https://mcp.example.com/p1/mcp", "--read-only"]');
    expect(readFileSync(path, 'utf8').startsWith('# goose\nGOOSE_MODEL: gpt-4o\nextensions:\n')).toBe(true);
  });

  it('prints the JSON and the steps for JetBrains AI Assistant', async () => {
    const r = await runCli(['setup', 'jetbrains'], env());
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ mcpServers: { appwrite: { command: 'npx', args: ['-y', 'appwrite-mcp@0.1'] } } });
    expect(r.stderr).toContain('Settings | Tools | AI Assistant | Model Context Protocol (MCP)');
  });

  it('runs claude mcp add when claude is on PATH', async () => {
    const r = await runCli(['setup', 'claude-code'], env());
    expect(r.code).toBe(0);
    expect(readFileSync(claudeLog, 'utf8')).toBe('mcp add --scope user appwrite -- npx -y appwrite-mcp@0.1\n');
    expect(r.stderr).toContain('✓ Claude Code: ran claude mcp add --scope user appwrite -- npx -y appwrite-mcp@0.1');
  });

  it('refuses a file it cannot parse with exit 1, leaving it as it was', async () => {
    const path = join(home, '.codeium/windsurf/mcp_config.json');
    mkdirSync(join(home, '.codeium/windsurf'), { recursive: true });
    writeFileSync(path, '{ "mcpServers": { } ');
    const r = await runCli(['setup', 'windsurf'], env());
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`appwrite-mcp: cannot update ${path}: line 1, column 21: expected "," or "}" after a property, found the end of the file\n  Nothing was changed. Fix the file, or add the entry by hand: appwrite-mcp setup windsurf --print shows it.\n`);
    expect(readFileSync(path, 'utf8')).toBe('{ "mcpServers": { } ');
    expect(readdirSync(join(home, '.codeium/windsurf'))).toEqual(['mcp_config.json']);
  });

  it('exits 2 for an unknown or missing client, and a bad URL', async () => {
    const unknown = await runCli(['setup', 'cusor'], env());
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('appwrite-mcp: unknown client "cusor"\n  Did you mean cursor? Clients: claude-desktop, claude-code, cline, codex, copilot-cli, cursor, gemini-cli, goose, jetbrains, junie, lm-studio, opencode, roo-code, vscode, windsurf, zed.\n');
    const missing = await runCli(['setup'], env());
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing required argument 'client'");
    const url = await runCli(['setup', 'cursor', '--url', 'not a url'], env());
    expect(url.code).toBe(2);
    expect(url.stderr).toContain('server URL "not a url" is not a valid URL');
  });
});
