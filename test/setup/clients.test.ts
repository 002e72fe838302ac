// Issue 20 §2: setup for every client that needs a bridge, and the popular rest. Each client's file
// per OS, and an edit of a real file of its format (content as its own docs show it: comments,
// other servers, the client's own keys), checked with a real parser of that format.
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseJsonDocument } from '../../src/setup/json-document.js';
import { findClient } from '../../src/setup/clients.js';
import { read, runIn, useWorld, write } from './harness.js';

const world = useWorld();
const setup = (client: string, opts = {}, extras = {}) => runIn(world, client, opts, extras);
const jsonc = (text: string) => parseJsonDocument(text, { jsonc: true }).value as Record<string, any>;
const NPX = { command: 'npx', args: ['-y', 'appwrite-mcp@0.1'] };
const URL_A = 'https://cloud.example.com/proj-a/mcp';

describe('where each new client keeps its servers', () => {
  it.each([
    ['cline', 'linux', {}, '.cline/data/settings/cline_mcp_settings.json', 'mcpServers'],
    ['cline', 'win32', { CLINE_DIR: '@/cline-home' }, 'cline-home/data/settings/cline_mcp_settings.json', 'mcpServers'],
    ['roo-code', 'linux', {}, '.config/Code/User/globalStorage/rooveterinaryinc.roo-cline/settings/mcp_settings.json', 'mcpServers'],
    ['roo-code', 'darwin', {}, 'Library/Application Support/Code/User/globalStorage/rooveterinaryinc.roo-cline/settings/mcp_settings.json', 'mcpServers'],
    ['roo-code', 'win32', { APPDATA: '@/AppData/Roaming' }, 'AppData/Roaming/Code/User/globalStorage/rooveterinaryinc.roo-cline/settings/mcp_settings.json', 'mcpServers'],
    ['gemini-cli', 'darwin', {}, '.gemini/settings.json', 'mcpServers'],
    ['gemini', 'win32', {}, '.gemini/settings.json', 'mcpServers'],
    ['zed', 'linux', {}, '.config/zed/settings.json', 'context_servers'],
    ['zed', 'linux', { XDG_CONFIG_HOME: '@/xdg' }, 'xdg/zed/settings.json', 'context_servers'],
    ['zed', 'darwin', { XDG_CONFIG_HOME: '@/xdg' }, '.config/zed/settings.json', 'context_servers'],
    ['zed', 'win32', { APPDATA: '@/AppData/Roaming' }, 'AppData/Roaming/Zed/settings.json', 'context_servers'],
    ['opencode', 'linux', {}, '.config/opencode/opencode.json', 'mcp'],
    ['opencode', 'win32', {}, '.config/opencode/opencode.json', 'mcp'],
    ['lm-studio', 'darwin', {}, '.lmstudio/mcp.json', 'mcpServers'],
    ['lmstudio', 'win32', {}, '.lmstudio/mcp.json', 'mcpServers'],
    ['copilot-cli', 'linux', {}, '.copilot/mcp-config.json', 'mcpServers'],
    ['copilot', 'darwin', { COPILOT_HOME: '@/copilot-home' }, 'copilot-home/mcp-config.json', 'mcpServers'],
    ['junie', 'linux', {}, '.junie/mcp/mcp.json', 'mcpServers'],
    ['junie', 'win32', {}, '.junie/mcp/mcp.json', 'mcpServers'],
  ] as const)('%s on %s %j → ~/%s', async (client, platform, env, file, key) => {
    const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replace('@', world.home)]));
    const r = await setup(client, {}, { env: { platform, env: resolved } });
    expect(r.error).toBeUndefined();
    const entry = jsonc(read(join(world.home, file)))[key].appwrite;
    const command = platform === 'win32' ? { command: 'cmd', args: ['/c', 'npx', ...NPX.args] } : NPX;
    if (client === 'opencode') expect(entry).toEqual({ type: 'local', command: [command.command, ...command.args], enabled: true });
    else if (findClient(client)!.id === 'copilot-cli') expect(entry).toEqual({ type: 'local', ...command, tools: ['*'] });
    else expect(entry).toEqual(command);
  });

  it.each([
    ['goose', 'linux', {}, '.config/goose/config.yaml'],
    ['goose', 'darwin', {}, '.config/goose/config.yaml'],
    ['goose', 'win32', { APPDATA: '@/AppData/Roaming' }, 'AppData/Roaming/Block/goose/config/config.yaml'],
  ] as const)('%s on %s → ~/%s', async (client, platform, env, file) => {
    const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replace('@', world.home)]));
    expect((await setup(client, {}, { env: { platform, env: resolved } })).code).toBe(0);
    expect(parseYaml(read(join(world.home, file))).extensions.appwrite).toMatchObject({ type: 'stdio', cmd: platform === 'win32' ? 'cmd' : 'npx', enabled: true });
  });

  it('--project: each client\'s project file', async () => {
    const cases: Array<[string, string, string]> = [
      ['copilot-cli', '.github/mcp.json', 'mcpServers'], ['gemini-cli', '.gemini/settings.json', 'mcpServers'],
      ['junie', '.junie/mcp/mcp.json', 'mcpServers'], ['opencode', 'opencode.json', 'mcp'],
      ['roo-code', '.roo/mcp.json', 'mcpServers'], ['zed', '.zed/settings.json', 'context_servers'],
    ];
    for (const [client, file, key] of cases) {
      expect((await setup(client, { project: true })).code).toBe(0);
      expect(jsonc(read(join(world.project, file)))[key].appwrite).toBeDefined();
    }
    for (const client of ['cline', 'goose', 'lm-studio']) expect((await setup(client, { project: true })).error?.exitCode).toBe(2);
    expect(readdirSync(world.home)).toEqual([]);
  });

  it('Cline: the file of Cline before 4.0 (VS Code\'s global storage) when only that one exists', async () => {
    const legacy = join(world.home, '.config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json');
    write(legacy, '{\n  "mcpServers": {\n    "github": {\n      "command": "docker",\n      "args": ["run", "-i", "ghcr.io/github/github-mcp-server"],\n      "disabled": false,\n      "autoApprove": []\n    }\n  }\n}');
    expect((await setup('cline')).code).toBe(0);
    expect(JSON.parse(read(legacy)).mcpServers).toEqual({ github: expect.any(Object), appwrite: NPX });
    expect(existsSync(join(world.home, '.cline'))).toBe(false);
  });

  it('OpenCode: an existing opencode.jsonc is the file', async () => {
    write(join(world.home, '.config/opencode/opencode.jsonc'), '{\n  // mine\n  "$schema": "https://opencode.ai/config.json",\n}\n');
    expect((await setup('opencode')).code).toBe(0);
    expect(jsonc(read(join(world.home, '.config/opencode/opencode.jsonc'))).mcp.appwrite.type).toBe('local');
    expect(existsSync(join(world.home, '.config/opencode/opencode.json'))).toBe(false);
  });
});

describe('editing each client\'s own file', () => {
  it('Zed: settings.json with its comments and trailing commas, beside other context servers', async () => {
    const path = join(world.home, '.config/zed/settings.json');
    const before = [
      '// Zed settings',
      '//',
      '// For information on how to configure Zed, see the Zed',
      '// documentation: https://zed.dev/docs/configuring-zed',
      '{',
      '  "theme": "One Dark",',
      '  "buffer_font_size": 15,',
      '  "context_servers": {',
      '    // local Postgres',
      '    "postgres": {',
      '      "command": "npx",',
      '      "args": ["-y", "@modelcontextprotocol/server-postgres", "postgresql://localhost/db"],',
      '      "env": {},',
      '    },',
      '  },',
      '}',
      '',
    ].join('\n');
    write(path, before);
    const r = await setup('zed', { url: URL_A });
    expect(r.code).toBe(0);
    const after = read(path);
    expect(after).toBe(before.replace('      "env": {},\n    },\n', `      "env": {},\n    },\n    "appwrite": {\n      "command": "npx",\n      "args": ["-y", "appwrite-mcp@0.1", "--url", "${URL_A}"]\n    },\n`));
    expect(jsonc(after).context_servers.postgres.args[2]).toBe('postgresql://localhost/db');
    expect(r.stderr).toContain('Zed can also connect to the server by itself');
    expect((await setup('zed', { url: URL_A })).stderr).toContain('already set up');
  });

  it('Gemini CLI: settings.json with other servers (one remote), comments kept', async () => {
    const path = join(world.home, '.gemini/settings.json');
    const before = '{\n  // theme and auth\n  "theme": "GitHub",\n  "selectedAuthType": "gemini-api-key",\n  "mcpServers": {\n    "git": { "command": "uvx", "args": ["mcp-server-git"], "timeout": 5000 },\n    "context7": { "httpUrl": "https://mcp.context7.com/mcp", "headers": { "CONTEXT7_API_KEY": "$CONTEXT7_API_KEY" } }\n  }\n}\n';
    write(path, before);
    const r = await setup('gemini-cli');
    expect(r.code).toBe(0);
    const after = jsonc(read(path));
    expect(Object.keys(after.mcpServers)).toEqual(['git', 'context7', 'appwrite']);
    expect(after.mcpServers.appwrite).toEqual(NPX);
    expect(read(path).startsWith('{\n  // theme and auth\n')).toBe(true);
    expect(r.stderr).toContain(`{"appwrite":{"httpUrl":"https://mcp.appwrite.io/"}} under "mcpServers"`);
  });

  it('OpenCode: command and args as one array; the user\'s `enabled: false` and environment stay', async () => {
    const path = join(world.home, '.config/opencode/opencode.json');
    const before = '{\n  "$schema": "https://opencode.ai/config.json",\n  "mcp": {\n    "sentry": { "type": "remote", "url": "https://mcp.sentry.dev/mcp", "oauth": {} },\n    "mcp_everything": { "type": "local", "command": ["npx", "-y", "@modelcontextprotocol/server-everything"] }\n  }\n}\n';
    write(path, before);
    await setup('opencode');
    let entry = JSON.parse(read(path)).mcp.appwrite;
    expect(entry).toEqual({ type: 'local', command: ['npx', '-y', 'appwrite-mcp@0.1'], enabled: true });
    // The user turns it off, adds a variable and a flag; re-running setup for another server keeps all three.
    write(path, read(path).replace('"enabled": true', '"enabled": false, "environment": { "APPWRITE_MCP_DEBUG": "1" }').replace('"appwrite-mcp@0.1"]', '"appwrite-mcp@0.1", "--read-only"]'));
    const r = await setup('opencode', { url: URL_A });
    entry = JSON.parse(read(path)).mcp.appwrite;
    expect(entry).toEqual({ type: 'local', command: ['npx', '-y', 'appwrite-mcp@0.1', '--url', URL_A, '--read-only'], enabled: false, environment: { APPWRITE_MCP_DEBUG: '1' } });
    expect(r.stderr).toContain('kept your flags: --read-only');
    expect(r.stderr).toContain('kept as they were: enabled, environment');
  });

  it('GitHub Copilot CLI: the docs\' example file; a narrowed tool list stays', async () => {
    const path = join(world.home, '.copilot/mcp-config.json');
    write(path, JSON.stringify({ mcpServers: {
      playwright: { type: 'local', command: 'npx', args: ['@playwright/mcp@latest'], env: {}, tools: ['*'] },
      context7: { type: 'http', url: 'https://mcp.context7.com/mcp', headers: { CONTEXT7_API_KEY: 'YOUR-API-KEY' }, tools: ['*'] },
    } }, null, 2));
    await setup('copilot-cli');
    expect(JSON.parse(read(path)).mcpServers.appwrite).toEqual({ type: 'local', ...NPX, tools: ['*'] });
    write(path, read(path).replace(/"tools": \[\n?\s*"\*"\n?\s*\]\n(\s*)\}\n(\s*)\}\n\}/, '"tools": ["list_*"]\n$1}\n$2}\n}'));
    expect(JSON.parse(read(path)).mcpServers.appwrite.tools).toEqual(['list_*']);
    await setup('copilot-cli', { url: URL_A });
    expect(JSON.parse(read(path)).mcpServers.appwrite).toEqual({ type: 'local', command: 'npx', args: ['-y', 'appwrite-mcp@0.1', '--url', URL_A], tools: ['list_*'] });
  });

  it.each([
    ['cline', '.cline/data/settings/cline_mcp_settings.json', { 'local-server': { command: 'node', args: ['/path/to/server.js'], env: { API_KEY: 'your_api_key' }, disabled: false, autoApprove: [] } }],
    ['roo-code', '.config/Code/User/globalStorage/rooveterinaryinc.roo-cline/settings/mcp_settings.json', { server1: { command: 'python', args: ['/path/to/server.py'], env: { API_KEY: 'your_api_key' }, alwaysAllow: ['tool1'], disabled: false } }],
    ['lm-studio', '.lmstudio/mcp.json', { 'hf-mcp-server': { url: 'https://huggingface.co/mcp', headers: { Authorization: 'Bearer <YOUR_HF_TOKEN>' } } }],
    ['junie', '.junie/mcp/mcp.json', { filesystem: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/Users/JohnDoe/Desktop'] } }],
  ] as const)('%s: beside the docs\' example server, byte for byte', async (client, file, others) => {
    const path = join(world.home, file);
    const before = `${JSON.stringify({ mcpServers: others }, null, 2)}\n`;
    write(path, before);
    const r = await setup(client);
    expect(r.code).toBe(0);
    const after = read(path);
    expect(JSON.parse(after).mcpServers).toEqual({ ...others, appwrite: NPX });
    expect(after).toBe(before.replace(/\n {4}\}\n {2}\}\n\}\n$/, '\n    },\n    "appwrite": {\n      "command": "npx",\n      "args": ["-y", "appwrite-mcp@0.1"]\n    }\n  }\n}\n'));
    expect((await setup(client)).stderr).toContain('already set up');
  });
});

describe('Goose: config.yaml', () => {
  const path = () => join(world.home, '.config/goose/config.yaml');
  // As goose writes it (serde_yaml) and as its docs show it: comments, providers, built-in extensions.
  const docs = [
    '# Model Configuration',
    'active_provider: anthropic',
    'providers:',
    '  anthropic:',
    '    enabled: true',
    '    model: claude-sonnet-4-5-20250929',
    '    configured: true',
    'GOOSE_TEMPERATURE: 0.7',
    '',
    '# Tool Configuration',
    'GOOSE_MODE: "smart_approve"',
    '',
    '# Extensions Configuration',
    'extensions:',
    '  developer:',
    '    bundled: true',
    '    enabled: true',
    '    name: developer',
    '    timeout: 300',
    '    type: builtin',
    '  ',
    '  filesystem:',
    '    type: stdio',
    '    name: filesystem',
    '    enabled: true',
    '    cmd: npx',
    '    args: ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]',
    '    env_keys: []',
    '    envs: {}',
    '    timeout: 300',
    'GOOSE_CLI_MIN_PRIORITY: 0.2 # after the extensions',
    '',
  ].join('\n');

  it('adds the extension after the others, every other byte kept, and reads back with a YAML parser', async () => {
    write(path(), docs);
    const r = await setup('goose', { url: URL_A });
    expect(r.code).toBe(0);
    const after = read(path());
    const added = [
      '  appwrite:',
      '    type: stdio',
      '    name: appwrite',
      '    enabled: true',
      '    description: "Appwrite, through appwrite-mcp"',
      '    cmd: npx',
      `    args: ["-y", "appwrite-mcp@0.1", "--url", "${URL_A}"]`,
      '    envs: {}',
      '    env_keys: []',
      '    timeout: 300',
      '',
    ].join('\n');
    expect(after).toBe(docs.replace('    timeout: 300\nGOOSE_CLI', `    timeout: 300\n${added}GOOSE_CLI`));
    const parsed = parseYaml(after);
    expect(parsed.extensions.appwrite).toEqual({ type: 'stdio', name: 'appwrite', enabled: true, description: 'Appwrite, through appwrite-mcp', cmd: 'npx', args: ['-y', 'appwrite-mcp@0.1', '--url', URL_A], envs: {}, env_keys: [], timeout: 300 });
    expect(parsed.GOOSE_CLI_MIN_PRIORITY).toBe(0.2);
    expect((await setup('goose', { url: URL_A })).stderr).toContain('already set up');
  });

  it('updates in place: a block list stays a block list, and the user\'s enabled/timeout/flags stay', async () => {
    const mine = 'extensions:\n  appwrite:\n    args:\n    - -y\n    - appwrite-mcp\n    - --read-only\n    cmd: npx\n    enabled: false # paused\n    envs: {}\n    name: appwrite\n    timeout: 600\n    type: stdio\n';
    write(path(), mine);
    const r = await setup('goose');
    expect(r.code).toBe(0);
    expect(read(path())).toBe(mine.replace('    - -y\n    - appwrite-mcp\n    - --read-only\n', '    - "-y"\n    - appwrite-mcp@0.1\n    - "--read-only"\n').replace('    type: stdio\n', '    type: stdio\n    description: "Appwrite, through appwrite-mcp"\n    env_keys: []\n'));
    expect(parseYaml(read(path())).extensions.appwrite).toMatchObject({ enabled: false, timeout: 600, args: ['-y', 'appwrite-mcp@0.1', '--read-only'] });
    expect(r.stderr).toContain('kept your flags: --read-only');
  });

  it('new files, `extensions: {}` and a file without extensions', async () => {
    await setup('goose');
    expect(read(path())).toBe('extensions:\n  appwrite:\n    type: stdio\n    name: appwrite\n    enabled: true\n    description: "Appwrite, through appwrite-mcp"\n    cmd: npx\n    args: ["-y", "appwrite-mcp@0.1"]\n    envs: {}\n    env_keys: []\n    timeout: 300\n');
    write(path(), 'GOOSE_MODEL: gpt-4o\nextensions: {} # none yet\nGOOSE_MODE: auto\n');
    await setup('goose');
    expect(parseYaml(read(path()))).toEqual({ GOOSE_MODEL: 'gpt-4o', extensions: { appwrite: expect.objectContaining({ cmd: 'npx' }) }, GOOSE_MODE: 'auto' });
    expect(read(path())).toContain('# none yet');
    write(path(), '# just a comment\nGOOSE_MODEL: gpt-4o');
    await setup('goose');
    expect(read(path()).startsWith('# just a comment\nGOOSE_MODEL: gpt-4o\nextensions:\n  appwrite:\n')).toBe(true);
  });

  it('refuses what it cannot edit safely, saying where, and changes nothing', async () => {
    for (const [text, message] of [
      ['extensions:\n  a: {type: stdio}\n  b: [\n', 'line 4, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]'],
      ['a: 1\n---\nb: 2\n', 'several YAML documents'],
      ['extensions: {developer: {type: builtin}}\n', 'flow style'],
      ['- a\n- b\n', 'not a block mapping'],
      ['base: &b {cmd: npx}\nextensions:\n  appwrite: *b\n', 'alias'],
      ['extensions:\n  appwrite:\n    type: stdio\n    cmd: uvx\n    args: [mcp-server-appwrite]\n    envs: {APPWRITE_API_KEY: SECRET}\n', 'runs something else'],
    ] as const) {
      write(path(), text);
      const r = await setup('goose');
      expect(r.error?.exitCode, text).toBe(1);
      expect(r.error?.message, text).toContain(message);
      expect(r.error?.message).not.toContain('SECRET');
      expect(read(path())).toBe(text);
    }
  });
});

describe('JetBrains AI Assistant: settings window only', () => {
  it('prints the JSON to paste and the exact steps, and writes nothing', async () => {
    const r = await setup('jetbrains', { url: URL_A });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ mcpServers: { appwrite: { command: 'npx', args: ['-y', 'appwrite-mcp@0.1', '--url', URL_A] } } });
    expect(r.stderr).toContain('1. In the IDE, open Settings | Tools | AI Assistant | Model Context Protocol (MCP).');
    expect(r.stderr).toContain('2. Click Add, choose As JSON, and paste the JSON above.');
    expect(r.stderr).toContain('Level to Global (every project)');
    expect((await setup('jetbrains', { project: true, print: true })).stderr).toContain('Level to Project (this project only)');
    expect(readdirSync(world.home)).toEqual([]);
    expect(readdirSync(world.project)).toEqual([]);
  });
});

describe('the pin follows the release line', () => {
  const cursor = () => join(world.home, '.cursor/mcp.json');

  it('re-running a newer setup moves the pin; an older one keeps the newer pin unless --force', async () => {
    await setup('cursor', {}, { version: '0.1.0' });
    expect(JSON.parse(read(cursor())).mcpServers.appwrite.args).toEqual(['-y', 'appwrite-mcp@0.1']);
    await setup('cursor', {}, { version: '0.2.3' });
    expect(JSON.parse(read(cursor())).mcpServers.appwrite.args).toEqual(['-y', 'appwrite-mcp@0.2']);
    const major = await setup('cursor', {}, { version: '1.4.0' });
    expect(major.stderr).toContain('package: appwrite-mcp@0.2 → appwrite-mcp@1');
    const older = await setup('cursor', {}, { version: '0.2.9' });
    expect(older.stderr).toContain('Note: kept the pin appwrite-mcp@1: it is newer than this appwrite-mcp (appwrite-mcp@0.2); --force pins appwrite-mcp@0.2');
    expect(older.stderr).toContain('already set up');
    await setup('cursor', { force: true }, { version: '0.2.9' });
    expect(JSON.parse(read(cursor())).mcpServers.appwrite.args).toEqual(['-y', 'appwrite-mcp@0.2']);
    await setup('cursor', {}, { version: '2.0.0-beta.1' });
    expect(JSON.parse(read(cursor())).mcpServers.appwrite.args).toEqual(['-y', 'appwrite-mcp@2.0.0-beta.1']);
  });
});
