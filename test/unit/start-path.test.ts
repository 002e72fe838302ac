// What every start of the CLI pays for (an MCP client starts the proxy again and again): the
// compile cache, and no Node internals the proxy never uses. Run on each supported Node line's
// pinned binary, against the built CLI.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LINES, nodeBinary } from '../node-lines/index.mjs';
import { BIN, ROOT } from '../helpers/cli.js';
import { cacheDir } from '../../src/paths.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'appwrite-mcp-start-'));
  dirs.push(d);
  return d;
};

/** Files under `dir`, recursively (none when it does not exist). */
function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  } catch {
    return [];
  }
}

describe.each(LINES)('Node %s', (line) => {
  const node = nodeBinary(line);

  it('the CLI keeps a compile cache in the cache directory; NODE_DISABLE_COMPILE_CACHE=1 turns it off', () => {
    const cache = tempDir();
    const env = { PATH: process.env.PATH, HOME: tempDir(), APPWRITE_MCP_CACHE_DIR: cache };
    const run = (extra: Record<string, string> = {}) => spawnSync(node, [BIN, '--version'], { env: { ...env, ...extra }, encoding: 'utf8', timeout: 30_000 });
    const off = run({ NODE_DISABLE_COMPILE_CACHE: '1' });
    expect(off.status, off.stderr).toBe(0);
    expect(filesUnder(cache)).toEqual([]);
    const on = run();
    expect(on.status, on.stderr).toBe(0);
    expect(on.stdout.trim()).toBe(off.stdout.trim());
    const files = filesUnder(join(cache, 'compile-cache'));
    // One entry per module compiled: cli.js and the dozens it imports.
    expect(files.length).toBeGreaterThan(20);
  });

  it('loading the proxy command and its HTTP layer loads neither Node\'s bundled undici nor node:http2, nor node:tls before an https:// request', () => {
    const script = `await import(${JSON.stringify(join(ROOT, 'dist/commands/proxy.js'))}); await import(${JSON.stringify(join(ROOT, 'dist/http/client.js'))});
      process.stdout.write(JSON.stringify(process.moduleLoadList.filter((m) => /undici|http2|NativeModule tls$/.test(m))));`;
    const r = spawnSync(node, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });
});

describe('cache directory', () => {
  it('follows each platform\'s convention; APPWRITE_MCP_CACHE_DIR wins', () => {
    expect(cacheDir({ XDG_CACHE_HOME: '/x/cache' }, 'linux')).toBe('/x/cache/appwrite-mcp');
    expect(cacheDir({}, 'linux')).toMatch(/\/\.cache\/appwrite-mcp$/);
    expect(cacheDir({}, 'darwin')).toMatch(/\/Library\/Caches\/appwrite-mcp$/);
    expect(cacheDir({ LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'win32')).toMatch(/appwrite-mcp.Cache$/);
    expect(cacheDir({ APPWRITE_MCP_CACHE_DIR: '/elsewhere', XDG_CACHE_HOME: '/x' }, 'linux')).toBe('/elsewhere');
  });
});
