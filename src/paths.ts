import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where non-secret state (and, as a fallback, secrets) live. `APPWRITE_MCP_CONFIG_DIR` wins;
 * otherwise the platform's config directory, following env-paths' conventions.
 */
export function configDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.APPWRITE_MCP_CONFIG_DIR) return env.APPWRITE_MCP_CONFIG_DIR;
  const home = homedir();
  if (platform === 'darwin') return join(home, 'Library', 'Preferences', 'appwrite-mcp');
  if (platform === 'win32') return join(env.APPDATA || join(home, 'AppData', 'Roaming'), 'appwrite-mcp', 'Config');
  return join(env.XDG_CONFIG_HOME || join(home, '.config'), 'appwrite-mcp');
}

/**
 * Where regenerable files live (the compile cache): the platform's cache directory, following
 * env-paths' conventions; `APPWRITE_MCP_CACHE_DIR` wins.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.APPWRITE_MCP_CACHE_DIR) return env.APPWRITE_MCP_CACHE_DIR;
  const home = homedir();
  if (platform === 'darwin') return join(home, 'Library', 'Caches', 'appwrite-mcp');
  if (platform === 'win32') return join(env.LOCALAPPDATA || join(home, 'AppData', 'Local'), 'appwrite-mcp', 'Cache');
  return join(env.XDG_CACHE_HOME || join(home, '.cache'), 'appwrite-mcp');
}
