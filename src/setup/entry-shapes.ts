// How each client writes a stdio server entry. Most take `{ command, args }`; some add a type or a
// tool list, OpenCode joins command and args in one array, Goose calls them `cmd` and `args`.
import type { ServerCommand } from './entry.js';
import type { JsonObject, JsonValue } from './json-document.js';

export interface EntryShape {
  /** A new entry, its keys in the order people write them. */
  fresh(server: ServerCommand, name: string): JsonObject;
  /**
   * The keys that carry the command line: setup rewrites these. The other keys of `fresh` are
   * defaults, added only when missing: once an entry exists they are the user's (a narrowed tool
   * list, `enabled: false`, a timeout).
   */
  owned: readonly string[];
  /** The command line and environment of an existing entry, as far as this shape can tell. */
  read(entry: JsonObject): { command?: JsonValue; args?: JsonValue; env?: JsonValue };
}

/** `{ "command": …, "args": […] }`: Claude Desktop, Cursor, Windsurf, Cline, Roo Code, Gemini CLI, Junie, LM Studio, Zed, Codex. */
export const STDIO: EntryShape = {
  fresh: (s) => ({ command: s.command, args: s.args }),
  owned: ['command', 'args'],
  read: (e) => ({ command: e.command, args: e.args, env: e.env }),
};

/** `{ "type": <type>, "command": …, "args": […], …extra }`: VS Code (`stdio`), Copilot CLI (`local` and a tool list). */
export function typed(type: string, extra: JsonObject = {}): EntryShape {
  return {
    fresh: (s) => ({ type, command: s.command, args: s.args, ...extra }),
    owned: ['command', 'args'],
    read: STDIO.read,
  };
}

/** OpenCode: `{ "type": "local", "command": [command, ...args], "enabled": true }` (https://opencode.ai/docs/mcp-servers/). */
export const OPENCODE: EntryShape = {
  fresh: (s) => ({ type: 'local', command: [s.command, ...s.args], enabled: true }),
  owned: ['command'],
  read: (e) => (Array.isArray(e.command) ? { command: e.command[0], args: e.command.slice(1), env: e.environment } : {}),
};

/**
 * Goose: an `extensions` entry of type stdio. Its fields are those of goose's ExtensionConfig::Stdio
 * (crates/goose/src/agents/extension.rs: name, description, cmd, args, envs, env_keys, timeout) and
 * the entry's `enabled`; the docs' example (https://block.github.io/goose/docs/guides/config-files)
 * writes them in this order.
 */
export const GOOSE: EntryShape = {
  fresh: (s, name) => ({
    type: 'stdio', name, enabled: true, description: 'Appwrite, through appwrite-mcp',
    cmd: s.command, args: s.args, envs: {}, env_keys: [], timeout: 300,
  }),
  owned: ['cmd', 'args'],
  read: (e) => ({ command: e.cmd, args: e.args, env: e.envs }),
};
