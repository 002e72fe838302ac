// What Claude Desktop does with a bundle, done with the code @anthropic-ai/mcpb publishes for it (its
// README: "the code used by Claude for macOS and Windows to load and verify MCPB bundles"):
// - unpackExtension (src/cli/unpack.ts): the zip into a directory, file modes restored;
// - getMcpConfigForManifest (src/shared/config.ts): the manifest's mcp_config with platform_overrides
//   applied, then `${__dirname}` (the bundle's directory), `${HOME}`, `${DESKTOP}`, `${DOCUMENTS}`,
//   `${DOWNLOADS}`, `${pathSeparator}`/`${/}` and `${user_config.<key>}` substituted — each key's default
//   first, the user's value over it, booleans as "true"/"false", numbers as strings; a key with neither
//   stays as the literal `${user_config.<key>}` text, so every setting the manifest uses has a default.
import { homedir } from 'node:os';
import { join, sep } from 'node:path';
import { getMcpConfigForManifest, unpackExtension } from '@anthropic-ai/mcpb';

const home = homedir();
/** The directories Claude Desktop offers for substitution (MANIFEST.md, "Variable Substitution"). */
export const SYSTEM_DIRS = { HOME: home, DESKTOP: join(home, 'Desktop'), DOCUMENTS: join(home, 'Documents'), DOWNLOADS: join(home, 'Downloads') };

export interface McpConfig {
  command: string;
  args: string[];
  env: Record<string, string>;
}

/** mcp_config as Claude Desktop resolves it for a bundle unpacked at `dir`, with the user's settings. */
export async function resolveMcpConfig(manifest: Record<string, unknown>, dir: string, userConfig: Record<string, unknown>): Promise<McpConfig> {
  const cfg = await getMcpConfigForManifest({ manifest: manifest as never, extensionPath: dir, systemDirs: SYSTEM_DIRS, userConfig: userConfig as never, pathSeparator: sep });
  if (!cfg) throw new Error('getMcpConfigForManifest gave no config (a required setting is missing)');
  return { command: cfg.command, args: cfg.args ?? [], env: cfg.env ?? {} };
}

/** Unpacks a .mcpb into `dir` as Claude Desktop installs it. */
export async function unpackBundle(path: string, dir: string): Promise<void> {
  if (!(await unpackExtension({ mcpbPath: path, outputDir: dir, silent: true }))) throw new Error(`mcpb could not unpack ${path}`);
}
