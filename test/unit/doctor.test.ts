// doctor's pure parts: the client configs it finds (written by `setup` itself where setup writes
// them, by hand for Claude Code's own files) and the clock verdict from a Date header.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSetup, type SetupDeps } from '../../src/commands/setup.js';
import { checkClients, findClientEntries } from '../../src/doctor/clients.js';
import { clockCheck, type Exchange } from '../../src/doctor/server.js';
import type { SetupEnvironment } from '../../src/setup/clients.js';

let root: string;
let e: SetupEnvironment;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'appwrite-mcp-doctor-'));
  mkdirSync(join(root, 'home'));
  mkdirSync(join(root, 'project'));
  e = { platform: 'linux', env: { PATH: '' }, home: join(root, 'home'), cwd: join(root, 'project') };
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

async function setup(client: string, url?: string, opts: { project?: boolean; name?: string } = {}) {
  const deps: SetupDeps = { environment: e, stdout: () => {}, stderr: () => {}, run: async () => ({ code: 0, output: '' }), now: () => new Date() };
  expect(await runSetup(client, { url, ...opts }, deps)).toBe(0);
}

const URL_A = 'https://mcp.example.test/demo/mcp';

describe('doctor: client configs', () => {
  it('finds appwrite-mcp in every client\'s file, with the URL each connects to', async () => {
    await setup('claude-desktop');
    await setup('cursor', URL_A);
    await setup('cursor', URL_A, { project: true });
    await setup('vscode', URL_A);
    await setup('windsurf', 'https://mcp.appwrite.io/mcp');
    await setup('codex', URL_A, { name: 'appwrite-demo' });
    // Claude Code's own files: user and local scope in ~/.claude.json, project scope in .mcp.json.
    writeFileSync(join(e.home, '.claude.json'), JSON.stringify({
      numStartups: 3,
      mcpServers: { appwrite: { type: 'stdio', command: 'npx', args: ['-y', 'appwrite-mcp', '--url', URL_A, '--header', 'X-Appwrite-Project:value-never-shown'] } },
      projects: { [e.cwd]: { mcpServers: { local: { command: 'npx', args: ['-y', 'appwrite-mcp@0.1.0'], env: { APPWRITE_MCP_URL: URL_A } } } } },
    }));
    writeFileSync(join(e.cwd, '.mcp.json'), JSON.stringify({ mcpServers: { other: { command: 'npx', args: ['-y', 'some-other-server'] } } }));

    const { entries, unreadable } = await findClientEntries(e);
    expect(unreadable).toEqual([]);
    const seen = entries.map((x) => `${x.client} ${x.name} ${x.url} ${x.urlFrom} ${x.headerNames.join(',')}`);
    expect(seen.sort()).toEqual([
      `claude-code appwrite (user scope) ${URL_A} --url X-Appwrite-Project`,
      `claude-code local (local scope, ${e.cwd}) ${URL_A} APPWRITE_MCP_URL `,
      'claude-desktop appwrite https://mcp.appwrite.io/ default ',
      `codex appwrite-demo ${URL_A} --url `,
      `cursor appwrite ${URL_A} --url `,
      `cursor appwrite ${URL_A} --url `,
      `vscode appwrite ${URL_A} --url `,
      'windsurf appwrite https://mcp.appwrite.io/mcp --url ',
    ].sort());

    const forA = await checkClients({ url: URL_A }, e);
    expect(forA.status).toBe('ok');
    expect(forA.summary).toBe('5 client configs start appwrite-mcp for this server: Claude Code, Codex, Cursor, Cursor (project), VS Code');
    expect(forA.summary).not.toContain('Claude Desktop');
    // A sign-in is kept per set of headers: the entry with --header matches only those headers.
    const withHeader = await checkClients({ url: URL_A, headers: { 'X-Appwrite-Project': 'value-never-shown' } }, e);
    expect(withHeader.summary).toBe('1 client config starts appwrite-mcp for this server: Claude Code');
    expect(withHeader.detail!.join('\n')).not.toContain('value-never-shown'); // header values are never shown

    const none = await checkClients({ url: 'https://elsewhere.test/' }, e);
    expect(none.status).toBe('warn');
    expect(none.summary).toBe('8 client configs start appwrite-mcp, but none for https://elsewhere.test/');
    expect(none.fix).toContain('appwrite-mcp setup <client> --url https://elsewhere.test/');
  });

  it('reports a config it cannot parse, and warns when nothing starts appwrite-mcp', async () => {
    mkdirSync(join(e.home, '.cursor'));
    writeFileSync(join(e.home, '.cursor', 'mcp.json'), '{ "mcpServers": { "appwrite": { "command": "npx", } } }');
    const r = await checkClients({ url: URL_A }, e);
    expect(r.status).toBe('warn');
    expect(r.summary).toBe('no MCP client config on this machine starts appwrite-mcp');
    expect(r.detail!.join('\n')).toMatch(/! Cursor: cannot read .*mcp\.json: line 1, column \d+: trailing comma/);
  });

  it('an entry\'s --profile, --header-file names and config.json url count as the CLI would take them', async () => {
    const headerFile = join(root, 'headers.txt');
    writeFileSync(headerFile, '# keys\nX-Appwrite-Project: value-never-read-out\nX-Appwrite-Key: ${KEY}\n');
    mkdirSync(join(e.home, '.cursor'));
    writeFileSync(join(e.home, '.cursor', 'mcp.json'), JSON.stringify({ mcpServers: {
      work: { command: 'npx', args: ['-y', 'appwrite-mcp', '--url', URL_A, '--profile', 'work', '--header-file', headerFile] },
      fromConfig: { command: 'npx', args: ['-y', 'appwrite-mcp'] },
    } }));
    const configUrl = (profile: string | undefined) => (profile === undefined ? 'https://fra.example.test/p1/mcp' : undefined);
    const { entries } = await findClientEntries(e, configUrl);
    expect(entries).toMatchObject([
      { name: 'work', url: URL_A, profile: 'work', headerNames: ['X-Appwrite-Project', 'X-Appwrite-Key'] },
      { name: 'fromConfig', url: 'https://fra.example.test/p1/mcp', urlFrom: 'config.json', headerNames: [] },
    ]);
    const work = await checkClients({ url: URL_A, profile: 'work', headers: { 'X-Appwrite-Key': 'k', 'x-appwrite-project': 'p' } }, e, configUrl);
    expect(work).toMatchObject({ status: 'ok', summary: '1 client config starts appwrite-mcp for this server: Cursor' });
    expect(work.detail!.join('\n')).not.toContain('value-never-read-out');
    const noProfile = await checkClients({ url: URL_A, headers: { 'X-Appwrite-Key': 'k', 'x-appwrite-project': 'p' } }, e, configUrl);
    expect(noProfile.status).toBe('warn');
    expect((await checkClients({ url: 'https://fra.example.test/p1/mcp' }, e, configUrl)).status).toBe('ok');
  });

  it('finds the entries setup writes for every other client, in each one\'s format and shape', async () => {
    for (const client of ['cline', 'roo-code', 'gemini-cli', 'zed', 'goose', 'opencode', 'lm-studio', 'copilot-cli', 'junie']) await setup(client, URL_A);
    for (const client of ['copilot-cli', 'gemini-cli', 'junie', 'opencode', 'roo-code', 'zed']) await setup(client, 'https://mcp.appwrite.io/', { project: true });
    // Cline before 4.0 kept its file in VS Code's global storage: doctor reads both places.
    const legacy = join(e.home, '.config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json');
    mkdirSync(join(legacy, '..'), { recursive: true });
    writeFileSync(legacy, JSON.stringify({ mcpServers: { old: { command: 'npx', args: ['-y', 'appwrite-mcp@0.0.9', '--profile', 'work'] } } }));
    // A Goose extension that is someone else's is not counted.
    const goose = join(e.home, '.config/goose/config.yaml');
    writeFileSync(goose, `# mine\nGOOSE_MODEL: gpt-4o\n${readFileSync(goose, 'utf8')}  other:\n    type: stdio\n    name: other\n    cmd: uvx\n    args: [mcp-server-git]\n`);

    const { entries, unreadable } = await findClientEntries(e);
    expect(unreadable).toEqual([]);
    expect(entries.map((x) => `${x.label} ${x.name} ${x.url}${x.profile ? ` ${x.profile}` : ''}`).sort()).toEqual([
      `Cline appwrite ${URL_A}`,
      'Cline old https://mcp.appwrite.io/ work',
      `Gemini CLI appwrite ${URL_A}`,
      'Gemini CLI (project) appwrite https://mcp.appwrite.io/',
      `GitHub Copilot CLI appwrite ${URL_A}`,
      'GitHub Copilot CLI (project) appwrite https://mcp.appwrite.io/',
      `Goose appwrite ${URL_A}`,
      `Junie appwrite ${URL_A}`,
      'Junie (project) appwrite https://mcp.appwrite.io/',
      `LM Studio appwrite ${URL_A}`,
      `OpenCode appwrite ${URL_A}`,
      'OpenCode (project) appwrite https://mcp.appwrite.io/',
      `Roo Code appwrite ${URL_A}`,
      'Roo Code (project) appwrite https://mcp.appwrite.io/',
      `Zed appwrite ${URL_A}`,
      'Zed (project) appwrite https://mcp.appwrite.io/',
    ].sort());
    const forA = await checkClients({ url: URL_A }, e);
    expect(forA.summary).toBe('9 client configs start appwrite-mcp for this server: Cline, GitHub Copilot CLI, Gemini CLI, Goose, Junie, LM Studio, OpenCode, Roo Code, Zed');
    expect(forA.fix ?? '').not.toContain('undefined');
  });

  it('Windows entries (cmd /c npx …) count too', async () => {
    e = { ...e, platform: 'win32', env: { APPDATA: join(root, 'appdata') } };
    await setup('claude-desktop', URL_A);
    const { entries } = await findClientEntries(e);
    expect(entries).toMatchObject([{ client: 'claude-desktop', url: URL_A, file: join(root, 'appdata', 'Claude', 'claude_desktop_config.json') }]);
  });
});

describe('doctor: clock', () => {
  const at = (serverOffsetMs: number, rttMs = 40): Exchange => {
    const sentAt = Date.parse('2026-05-01T12:00:00.000Z');
    const serverNow = sentAt + rttMs / 2 + serverOffsetMs;
    return { method: 'POST', url: 'x', status: 401, date: new Date(serverNow).toUTCString(), sentAt, receivedAt: sentAt + rttMs };
  };

  it('ok within 30 s, warns above, fails above 5 min, and says which way', () => {
    expect(clockCheck(at(0), 'linux')).toMatchObject({ status: 'ok', summary: 'your clock is within 1 s of the server\'s' });
    expect(clockCheck(at(-20_000), 'linux').status).toBe('ok');
    const behind = clockCheck(at(90_000), 'linux');
    expect(behind).toMatchObject({ status: 'warn', summary: 'your clock is 90 s behind the server\'s (more than 30 s)' });
    expect(behind.fix).toContain('timedatectl');
    const ahead = clockCheck(at(-3 * 3600_000), 'darwin');
    expect(ahead.status).toBe('fail');
    expect(ahead.summary).toMatch(/^your clock is 3 h ahead of the server's: token expiry/);
    expect(ahead.fix).toContain('Date & Time');
  });

  it('warns when there is no Date header to compare with', () => {
    expect(clockCheck({ ...at(0), date: undefined }, 'linux').status).toBe('warn');
    expect(clockCheck({ ...at(0), date: 'yesterday' }, 'linux').status).toBe('warn');
  });
});
