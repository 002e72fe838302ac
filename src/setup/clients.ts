// The MCP clients `setup` knows: where each keeps its MCP servers (per OS, user and project), in
// which format and under which key, each as the client's own documentation says (cited beside it).
import { join, resolve } from 'node:path';
import { appDataDir, envDir, vscodeUserDir, type Client, type FileClient, type SetupEnvironment } from './client-types.js';
import { STDIO, typed } from './entry-shapes.js';

export * from './client-types.js';

const RESTART = (app: string) => `Quit ${app} completely and start it again to load it.`;

export const CLIENTS: readonly Client[] = [
  {
    // https://modelcontextprotocol.io/docs/develop/connect-local-servers (macOS, Windows paths);
    // Linux: the same Electron layout under $XDG_CONFIG_HOME or ~/.config.
    id: 'claude-desktop', label: 'Claude Desktop', kind: 'file', format: 'json', containerKey: 'mcpServers', shape: STDIO,
    docs: ['https://modelcontextprotocol.io/docs/develop/connect-local-servers'],
    userFiles: (e) => [join(appDataDir(e), 'Claude', 'claude_desktop_config.json')],
    reload: RESTART('Claude Desktop'),
  },
  {
    // https://docs.anthropic.com/en/docs/claude-code/mcp: `claude mcp add --scope user|project`.
    id: 'claude-code', label: 'Claude Code', kind: 'command',
    docs: ['https://docs.anthropic.com/en/docs/claude-code/mcp'],
    projectNote: "the project's .mcp.json (claude mcp add --scope project), shared with everyone who works on it",
  },
  {
    // https://developers.openai.com/codex/mcp and https://github.com/openai/codex/blob/main/docs/config.md#mcp_servers:
    // ~/.codex/config.toml (CODEX_HOME), [mcp_servers.<name>] with command and args.
    id: 'codex', label: 'Codex', kind: 'file', format: 'toml', containerKey: 'mcp_servers', shape: STDIO,
    docs: ['https://developers.openai.com/codex/mcp'],
    userFiles: (e) => [join(envDir(e, 'CODEX_HOME') ?? join(e.home, '.codex'), 'config.toml')],
    reload: 'New Codex sessions load it.',
  },
  {
    // https://cursor.com/docs/mcp: ~/.cursor/mcp.json and <project>/.cursor/mcp.json, `mcpServers`.
    id: 'cursor', label: 'Cursor', kind: 'file', format: 'json', containerKey: 'mcpServers', shape: STDIO,
    docs: ['https://cursor.com/docs/mcp'],
    userFiles: (e) => [join(e.home, '.cursor', 'mcp.json')],
    projectFiles: (dir) => [join(dir, '.cursor', 'mcp.json')],
    projectNote: "the project's .cursor/mcp.json",
    reload: 'Restart Cursor (or turn the server on in its MCP settings) to load it.',
  },
  {
    // https://code.visualstudio.com/docs/copilot/reference/mcp-configuration: the user profile's mcp.json
    // and <project>/.vscode/mcp.json, `servers` with type stdio; JSONC.
    id: 'vscode', label: 'VS Code', kind: 'file', format: 'jsonc', containerKey: 'servers', shape: typed('stdio'),
    docs: ['https://code.visualstudio.com/docs/copilot/reference/mcp-configuration'],
    userFiles: (e) => [join(vscodeUserDir(e), 'mcp.json')],
    projectFiles: (dir) => [join(dir, '.vscode', 'mcp.json')],
    projectNote: "the project's .vscode/mcp.json",
    reload: 'VS Code reads mcp.json as it changes; start the server from its MCP server list (or restart VS Code).',
  },
  {
    // https://docs.windsurf.com/windsurf/cascade/mcp: ~/.codeium/windsurf/mcp_config.json, `mcpServers`.
    id: 'windsurf', label: 'Windsurf', kind: 'file', format: 'json', containerKey: 'mcpServers', shape: STDIO,
    docs: ['https://docs.windsurf.com/windsurf/cascade/mcp'],
    userFiles: (e) => [join(e.home, '.codeium', 'windsurf', 'mcp_config.json')],
    reload: 'Refresh the MCP servers in Windsurf (or restart it) to load it.',
  },];

export const CLIENT_IDS = CLIENTS.map((c) => c.id);

export function findClient(name: string): Client | undefined {
  const wanted = name.trim().toLowerCase();
  return CLIENTS.find((c) => c.id === wanted || c.aliases?.includes(wanted));
}

/** The candidate config files for `client`: the user-level ones, or the project's when `projectDir` is given. */
export function configCandidates(client: FileClient, e: SetupEnvironment, projectDir?: string): string[] {
  if (projectDir !== undefined && client.projectFiles) return client.projectFiles(resolve(e.cwd, projectDir));
  return client.userFiles(e);
}

/** Client names close to `input` ("curser" → cursor, "claude" → claude-desktop, claude-code). */
export function suggestClients(input: string): string[] {
  const wanted = input.trim().toLowerCase().replace(/[\s_]+/g, '-');
  const squash = (s: string) => s.replace(/-/g, '');
  const close = (name: string) =>
    (wanted.length >= 3 && (name.includes(wanted) || squash(name).includes(squash(wanted))))
    || editDistance(squash(wanted), squash(name)) <= Math.max(1, Math.floor(name.length / 4));
  return CLIENTS.filter((c) => [c.id, ...(c.aliases ?? [])].some(close)).map((c) => c.id);
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
