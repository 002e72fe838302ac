// The command line itself: help, version, usage errors and their exit codes.
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ROOT, runCli, tempConfigDir } from '../helpers/cli.js';

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
    const unknown = await runCli(['logn'], env());
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "logn"');
    const flag = await runCli(['login', '--scopes', 'x'], env());
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("unknown option '--scopes'");
    const timeout = await runCli(['--auth-timeout', '90'], env());
    expect(timeout.code).toBe(2);
    expect(timeout.stderr).toContain('MCP clients give initialize 60 s at most');
    const header = await runCli(['--header', 'Authorization: Bearer x'], env());
    expect(header.code).toBe(2);
    expect(header.stderr).toContain('--header Authorization is not allowed');
  });

  it('status exits 3 when not signed in, naming the command that fixes it', async () => {
    const r = await runCli(['status', '--url', 'https://mcp.example.com/p1/mcp'], env());
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('Run: appwrite-mcp login --url https://mcp.example.com/p1/mcp');
  });
});
