// What `setup` knows about an MCP client, and the folders clients keep their configs in. Paths come
// from an injected environment (platform, HOME, APPDATA, XDG_CONFIG_HOME, …, cwd), never from the
// process directly, so that tests can aim every client at a temp dir and pretend to be Windows.
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { EntryShape } from './entry-shapes.js';

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

/** An absolute directory from the environment variable `name`, or undefined. */
export function envDir(e: SetupEnvironment, name: string): string | undefined {
  const value = e.env[name];
  return value && isAbsolute(value) ? value : undefined;
}

/** Where Electron apps (Claude Desktop, VS Code) keep their per-user data. */
export function appDataDir(e: SetupEnvironment): string {
  if (e.platform === 'win32') return e.env.APPDATA || join(e.home, 'AppData', 'Roaming');
  if (e.platform === 'darwin') return join(e.home, 'Library', 'Application Support');
  return envDir(e, 'XDG_CONFIG_HOME') ?? join(e.home, '.config');
}

/** `$XDG_CONFIG_HOME`, else `~/.config`, on every platform (the XDG layout some CLIs use everywhere). */
export function xdgConfigDir(e: SetupEnvironment): string {
  return envDir(e, 'XDG_CONFIG_HOME') ?? join(e.home, '.config');
}

/** VS Code's user folder, where extensions (Cline before 4.0, Roo Code) keep their global storage. */
export function vscodeUserDir(e: SetupEnvironment): string {
  return join(appDataDir(e), 'Code', 'User');
}

interface ClientBase {
  id: string;
  /** Other names `setup` takes for it (`gemini` for gemini-cli). */
  aliases?: string[];
  label: string;
  /** What `--project` means for this client, when it has project configs. */
  projectNote?: string;
  /** The client's own documentation of where and how it keeps MCP servers. */
  docs: string[];
  /**
   * When the client can also sign in to a remote MCP server by itself: the entry that does it
   * (under the same container key), for the hint setup prints beside its own.
   */
  remoteEntry?(url: string): Record<string, unknown>;
}

/** A client whose config file `setup` edits itself. */
export interface FileClient extends ClientBase {
  kind: 'file';
  format: 'json' | 'jsonc' | 'toml' | 'yaml';
  /** The key that maps names to servers (`mcpServers`, `servers`, `context_servers`, `mcp`, `extensions`, `mcp_servers`). */
  containerKey: string;
  shape: EntryShape;
  /** The user-level file: the first of these that exists, else the first (later ones: another name, an older version's place). */
  userFiles(e: SetupEnvironment): string[];
  /** The project's file, the same way. */
  projectFiles?(dir: string): string[];
  /** What the user does next for the client to load the server. */
  reload: string;
}

/** A client configured only in its settings window: `setup` prints the JSON and the exact steps. */
export interface GuiClient extends ClientBase {
  kind: 'gui';
  containerKey: string;
  shape: EntryShape;
  steps(project: boolean): string[];
}

/** Claude Code: `setup` runs (or prints) its own `claude mcp add`. */
export interface CommandClient extends ClientBase {
  kind: 'command';
}

export type Client = FileClient | GuiClient | CommandClient;
