// The MCP clients `setup` knows: where each keeps its config and in which shape. Paths come from an
// injected environment (platform, HOME, APPDATA, XDG_CONFIG_HOME, CODEX_HOME, cwd), never from the
// process directly, so that tests can aim every client at a temp dir and pretend to be Windows.
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { ServerCommand } from './entry.js';
import type { JsonValue } from './json-document.js';

export interface SetupEnvironment {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  /** The user's home directory. */
  home: string;
  cwd: string;
}

export function systemEnvironment(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): SetupEnvironment {
  const home = (platform === 'win32' ? env.USERPROFILE || env.HOME : env.HOME) || homedir();
  return { platform, env, home, cwd: process.cwd() };
}

/** Where Electron apps (Claude Desktop, VS Code) keep their per-user data. */
export function appDataDir(e: SetupEnvironment): string {
  if (e.platform === 'win32') return e.env.APPDATA || join(e.home, 'AppData', 'Roaming');
  if (e.platform === 'darwin') return join(e.home, 'Library', 'Application Support');
  const xdg = e.env.XDG_CONFIG_HOME;
  return xdg && isAbsolute(xdg) ? xdg : join(e.home, '.config');
}

interface ClientBase {
  id: string;
  label: string;
  /** What `--project` means for this client, when it has project configs. */
  projectNote?: string;
}

/** A client whose config `setup` edits itself. */
export interface FileClient extends ClientBase {
  kind: 'file';
  format: 'json' | 'jsonc' | 'toml';
  /** The key that maps names to servers (JSON formats). */
  containerKey?: string;
  userFile(e: SetupEnvironment): string;
  projectFile?(dir: string): string;
  /** The entry's fields (JSON formats). */
  fields(server: ServerCommand): { [key: string]: JsonValue };
  /** What the user does next for the client to load the server. */
  reload: string;
}

/** Claude Code: `setup` runs (or prints) its own `claude mcp add`. */
export interface CommandClient extends ClientBase {
  kind: 'command';
}

export type Client = FileClient | CommandClient;

const stdio = (server: ServerCommand) => ({ command: server.command, args: server.args });

export const CLIENTS: readonly Client[] = [
  {
    id: 'claude-desktop',
    label: 'Claude Desktop',
    kind: 'file',
    format: 'json',
    containerKey: 'mcpServers',
    userFile: (e) => join(appDataDir(e), 'Claude', 'claude_desktop_config.json'),
    fields: stdio,
    reload: 'Quit Claude Desktop completely and start it again to load it.',
  },
  {
    id: 'claude-code',
    label: 'Claude Code',
    kind: 'command',
    projectNote: "the project's .mcp.json (claude mcp add --scope project), shared with everyone who works on it",
  },
  {
    id: 'codex',
    label: 'Codex',
    kind: 'file',
    format: 'toml',
    userFile: (e) => join(e.env.CODEX_HOME && isAbsolute(e.env.CODEX_HOME) ? e.env.CODEX_HOME : join(e.home, '.codex'), 'config.toml'),
    fields: stdio,
    reload: 'New Codex sessions load it.',
  },
  {
    id: 'cursor',
    label: 'Cursor',
    kind: 'file',
    format: 'json',
    containerKey: 'mcpServers',
    userFile: (e) => join(e.home, '.cursor', 'mcp.json'),
    projectFile: (dir) => join(dir, '.cursor', 'mcp.json'),
    projectNote: "the project's .cursor/mcp.json",
    fields: stdio,
    reload: 'Restart Cursor (or turn the server on in its MCP settings) to load it.',
  },
  {
    id: 'vscode',
    label: 'VS Code',
    kind: 'file',
    format: 'jsonc',
    containerKey: 'servers',
    userFile: (e) => join(appDataDir(e), 'Code', 'User', 'mcp.json'),
    projectFile: (dir) => join(dir, '.vscode', 'mcp.json'),
    projectNote: "the project's .vscode/mcp.json",
    fields: (server) => ({ type: 'stdio', command: server.command, args: server.args }),
    reload: 'VS Code reads mcp.json as it changes; start the server from its MCP server list (or restart VS Code).',
  },
  {
    id: 'windsurf',
    label: 'Windsurf',
    kind: 'file',
    format: 'json',
    containerKey: 'mcpServers',
    userFile: (e) => join(e.home, '.codeium', 'windsurf', 'mcp_config.json'),
    fields: stdio,
    reload: 'Refresh the MCP servers in Windsurf (or restart it) to load it.',
  },
];

export const CLIENT_IDS = CLIENTS.map((c) => c.id);

export function findClient(name: string): Client | undefined {
  return CLIENTS.find((c) => c.id === name.trim().toLowerCase());
}

/** The config file for `client`: the user-level one, or the project's when `projectDir` is given. */
export function configPath(client: FileClient, e: SetupEnvironment, projectDir?: string): string {
  if (projectDir !== undefined && client.projectFile) return client.projectFile(resolve(e.cwd, projectDir));
  return client.userFile(e);
}

/** Client names close to `input` ("curser" → cursor, "claude" → claude-desktop, claude-code). */
export function suggestClients(input: string): string[] {
  const wanted = input.trim().toLowerCase().replace(/[\s_]+/g, '-');
  const squash = (s: string) => s.replace(/-/g, '');
  return CLIENT_IDS.filter((id) => {
    if (wanted.length >= 3 && (id.includes(wanted) || squash(id).includes(squash(wanted)))) return true;
    return editDistance(squash(wanted), squash(id)) <= Math.max(1, Math.floor(id.length / 4));
  });
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
