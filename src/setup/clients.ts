// The MCP clients `setup` knows: where each keeps its MCP servers (per OS, user and project), in
// which format and under which key, each as the client's own documentation says (cited beside it).
import { join, resolve } from 'node:path';
import { appDataDir, envDir, vscodeUserDir, xdgConfigDir, type Client, type FileClient, type SetupEnvironment } from './client-types.js';
import { GOOSE, OPENCODE, STDIO, typed } from './entry-shapes.js';

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
    // https://docs.cline.bot/getting-started/config: since Cline 4.0 the extension, CLI and SDK share
    // ~/.cline/data/settings/cline_mcp_settings.json (CLINE_DIR replaces ~/.cline, CLINE_DATA_DIR
    // ~/.cline/data); https://docs.cline.bot/mcp/configuring-mcp-servers: `mcpServers`, command/args.
    // Older extensions kept the file in VS Code's global storage: used when only that one exists.
    id: 'cline', label: 'Cline', kind: 'file', format: 'json', containerKey: 'mcpServers', shape: STDIO,
    docs: ['https://docs.cline.bot/getting-started/config', 'https://docs.cline.bot/mcp/configuring-mcp-servers'],
    userFiles: (e) => [
      join(envDir(e, 'CLINE_DATA_DIR') ?? join(envDir(e, 'CLINE_DIR') ?? join(e.home, '.cline'), 'data'), 'settings', 'cline_mcp_settings.json'),
      join(vscodeUserDir(e), 'globalStorage', 'saoudrizwan.claude-dev', 'settings', 'cline_mcp_settings.json'),
    ],
    reload: 'Cline watches the file and reconnects its servers; check them under MCP Servers.',
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
    // https://docs.github.com/en/copilot/how-tos/copilot-cli/customize-copilot/add-mcp-servers:
    // ~/.copilot/mcp-config.json (COPILOT_HOME moves ~/.copilot), `mcpServers` with type local,
    // command, args, tools; per repository .github/mcp.json (loaded once the folder is trusted).
    id: 'copilot-cli', aliases: ['copilot'], label: 'GitHub Copilot CLI', kind: 'file', format: 'json', containerKey: 'mcpServers',
    shape: typed('local', { tools: ['*'] }),
    docs: ['https://docs.github.com/en/copilot/how-tos/copilot-cli/customize-copilot/add-mcp-servers'],
    userFiles: (e) => [join(envDir(e, 'COPILOT_HOME') ?? join(e.home, '.copilot'), 'mcp-config.json')],
    projectFiles: (dir) => [join(dir, '.github', 'mcp.json')],
    projectNote: "the repository's .github/mcp.json",
    remoteEntry: (url) => ({ type: 'http', url, tools: ['*'] }),
    reload: 'Start a new Copilot CLI session (or /mcp show) to load it.',
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
    // https://geminicli.com/docs/cli/configuration: ~/.gemini/settings.json and <project>/.gemini/settings.json;
    // https://geminicli.com/docs/tools/mcp-server/: `mcpServers`, command/args, or httpUrl with its own OAuth.
    id: 'gemini-cli', aliases: ['gemini'], label: 'Gemini CLI', kind: 'file', format: 'jsonc', containerKey: 'mcpServers', shape: STDIO,
    docs: ['https://geminicli.com/docs/cli/configuration', 'https://geminicli.com/docs/tools/mcp-server/'],
    userFiles: (e) => [join(e.home, '.gemini', 'settings.json')],
    projectFiles: (dir) => [join(dir, '.gemini', 'settings.json')],
    projectNote: "the project's .gemini/settings.json",
    remoteEntry: (url) => ({ httpUrl: url }),
    reload: 'Start Gemini CLI again; /mcp lists the server.',
  },
  {
    // https://block.github.io/goose/docs/guides/config-files: ~/.config/goose/config.yaml (Windows
    // %APPDATA%\Block\goose\config\config.yaml), `extensions` of type stdio with cmd/args.
    id: 'goose', label: 'Goose', kind: 'file', format: 'yaml', containerKey: 'extensions', shape: GOOSE,
    docs: ['https://block.github.io/goose/docs/guides/config-files'],
    userFiles: (e) => [e.platform === 'win32' ? join(appDataDir(e), 'Block', 'goose', 'config', 'config.yaml') : join(xdgConfigDir(e), 'goose', 'config.yaml')],
    reload: 'Start a new Goose session to load it.',
  },
  {
    // https://www.jetbrains.com/help/ai-assistant/mcp.html: configured in Settings | Tools | AI
    // Assistant | Model Context Protocol (MCP), which takes the JSON of `mcpServers` ("As JSON").
    id: 'jetbrains', aliases: ['jetbrains-ai', 'ai-assistant'], label: 'JetBrains AI Assistant', kind: 'gui', containerKey: 'mcpServers', shape: STDIO,
    docs: ['https://www.jetbrains.com/help/ai-assistant/mcp.html'],
    projectNote: 'the current project (Level: Project in the dialog)',
    steps: (project) => [
      'In the IDE, open Settings | Tools | AI Assistant | Model Context Protocol (MCP).',
      'Click Add, choose As JSON, and paste the JSON above.',
      `Set Level to ${project ? 'Project (this project only)' : 'Global (every project)'}, click OK, then Apply.`,
    ],
  },
  {
    // https://www.jetbrains.com/help/junie/model-context-protocol-mcp.html and
    // https://junie.jetbrains.com/docs/junie-cli-mcp-configuration.html: ~/.junie/mcp/mcp.json and
    // <project>/.junie/mcp/mcp.json, `mcpServers` with command/args (stdio only).
    id: 'junie', label: 'Junie', kind: 'file', format: 'json', containerKey: 'mcpServers', shape: STDIO,
    docs: ['https://www.jetbrains.com/help/junie/model-context-protocol-mcp.html', 'https://junie.jetbrains.com/docs/junie-cli-mcp-configuration.html'],
    userFiles: (e) => [join(e.home, '.junie', 'mcp', 'mcp.json')],
    projectFiles: (dir) => [join(dir, '.junie', 'mcp', 'mcp.json')],
    projectNote: "the project's .junie/mcp/mcp.json",
    reload: "Junie loads it with the next task; check it under Settings | Tools | Junie | MCP Settings.",
  },
  {
    // https://lmstudio.ai/docs/app/mcp: mcp.json in Cursor's notation (`mcpServers`), which lives in
    // ~/.lmstudio/mcp.json (Windows %USERPROFILE%\.lmstudio\mcp.json), as LM Studio's docs state
    // (quoted in https://github.com/lmstudio-ai/lmstudio-bug-tracker/issues/1371).
    id: 'lm-studio', aliases: ['lmstudio'], label: 'LM Studio', kind: 'file', format: 'json', containerKey: 'mcpServers', shape: STDIO,
    docs: ['https://lmstudio.ai/docs/app/mcp'],
    userFiles: (e) => [join(e.home, '.lmstudio', 'mcp.json')],
    reload: 'LM Studio reads mcp.json as it changes; turn the server on under Program in the right-hand sidebar.',
  },
  {
    // https://opencode.ai/docs/config/: ~/.config/opencode/opencode.json (or .jsonc) and the project's
    // opencode.json; https://opencode.ai/docs/mcp-servers/: `mcp`, type local, command as one array,
    // and remote servers with OpenCode's own OAuth.
    id: 'opencode', label: 'OpenCode', kind: 'file', format: 'jsonc', containerKey: 'mcp', shape: OPENCODE,
    docs: ['https://opencode.ai/docs/config/', 'https://opencode.ai/docs/mcp-servers/'],
    userFiles: (e) => ['opencode.json', 'opencode.jsonc'].map((f) => join(xdgConfigDir(e), 'opencode', f)),
    projectFiles: (dir) => [join(dir, 'opencode.json'), join(dir, 'opencode.jsonc')],
    projectNote: "the project's opencode.json (OpenCode asks before it starts a project's server)",
    remoteEntry: (url) => ({ type: 'remote', url, enabled: true }),
    reload: 'Start OpenCode again; `opencode mcp list` shows the server.',
  },
  {
    // https://docs.roocode.com/features/mcp/using-mcp-in-roo: global mcp_settings.json (the
    // extension's VS Code global storage) and the project's .roo/mcp.json, `mcpServers` with command/args.
    id: 'roo-code', aliases: ['roo'], label: 'Roo Code', kind: 'file', format: 'json', containerKey: 'mcpServers', shape: STDIO,
    docs: ['https://docs.roocode.com/features/mcp/using-mcp-in-roo'],
    userFiles: (e) => [join(vscodeUserDir(e), 'globalStorage', 'rooveterinaryinc.roo-cline', 'settings', 'mcp_settings.json')],
    projectFiles: (dir) => [join(dir, '.roo', 'mcp.json')],
    projectNote: "the project's .roo/mcp.json",
    reload: 'Roo Code watches the file; check the server under MCP Servers in its settings.',
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
  },
  {
    // https://zed.dev/docs/configuring-zed: ~/.config/zed/settings.json ($XDG_CONFIG_HOME on Linux,
    // %APPDATA%\Zed\settings.json on Windows), <project>/.zed/settings.json, JSON with comments;
    // https://zed.dev/docs/ai/mcp: `context_servers` with command/args (or a remote url).
    id: 'zed', label: 'Zed', kind: 'file', format: 'jsonc', containerKey: 'context_servers', shape: STDIO,
    docs: ['https://zed.dev/docs/configuring-zed', 'https://zed.dev/docs/ai/mcp'],
    userFiles: (e) => [join(e.platform === 'win32' ? join(appDataDir(e), 'Zed') : join(e.platform === 'linux' ? xdgConfigDir(e) : join(e.home, '.config'), 'zed'), 'settings.json')],
    projectFiles: (dir) => [join(dir, '.zed', 'settings.json')],
    projectNote: "the project's .zed/settings.json",
    remoteEntry: (url) => ({ url }),
    reload: "Zed applies settings as they change; the server shows in the Agent Panel's settings.",
  },
];

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
