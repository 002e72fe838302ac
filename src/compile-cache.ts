// Node's module compile cache (node:module enableCompileCache, public API since Node 22.1): V8 code
// caches of the CLI's modules, kept on disk, so that each start (an MCP client starts the proxy again
// and again) reads compiled code instead of compiling every module again. Node keys the cache by its
// own version and each file's content, and ignores a cache that does not match. It lives in the user's
// cache directory (paths.ts cacheDir: ~/.cache/appwrite-mcp/compile-cache on Linux); Node's
// NODE_DISABLE_COMPILE_CACHE=1 turns it off. A cache that cannot be written costs nothing but speed.
import module from 'node:module';
import { join } from 'node:path';
import { cacheDir } from './paths.js';

export interface CompileCacheOutcome {
  /** Node's status name: ENABLED, ALREADY_ENABLED, FAILED or DISABLED; "UNSUPPORTED" without the API. */
  status: string;
  directory?: string;
}

/** Enables the compile cache for every module loaded after this call. Never throws. */
export function enableCompileCache(env: NodeJS.ProcessEnv = process.env): CompileCacheOutcome {
  const enable = (module as { enableCompileCache?: (dir?: string) => { status: number; directory?: string } }).enableCompileCache;
  if (typeof enable !== 'function') return { status: 'UNSUPPORTED' };
  try {
    const result = enable(join(cacheDir(env), 'compile-cache'));
    const names = (module as { constants?: { compileCacheStatus?: Record<string, number> } }).constants?.compileCacheStatus ?? {};
    const status = Object.keys(names).find((name) => names[name] === result.status) ?? String(result.status);
    return { status, directory: result.directory };
  } catch {
    return { status: 'FAILED' };
  }
}
