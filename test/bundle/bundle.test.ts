// The Claude Desktop bundle as a user gets it: the packed .mcpb (built by `npm run bundle`'s code, or
// the one test/run.mjs built for this run: APPWRITE_MCP_TEST_BUNDLE) is unpacked into an empty
// directory the way Claude Desktop installs it, and run exactly as its manifest's mcp_config says —
// `${__dirname}` and `${user_config.*}` substituted by mcpb's own code (./claude-desktop.ts), the
// command "node" being the Node.js that runs this test (Claude Desktop's built-in Node.js in real
// life) — under a real MCP client (the SDK's Client over stdio) against the local cloud: the first
// run signs in through the browser (headless Chromium), lists the tools and calls one; the settings
// (read-only, profile) change what the next runs do. With a Secret Service (test/run.mjs) the
// bundled keyring binary keeps the secrets.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type Cloud } from '../cloud/index.js';
import { browserSeam, completeSignIn, launchChromium, type BrowserSeam } from '../helpers/browser.js';
import { NO_KEYCHAIN_ENV, ROOT, baseEnv, hasSecretService, tempConfigDir } from '../helpers/cli.js';
import { textOf } from '../helpers/proxy-client.js';
import { buildBundle, mcpb } from './build.mjs';
import { resolveMcpConfig, unpackBundle, type McpConfig } from './claude-desktop.js';

const withKeychain = hasSecretService() || process.env.APPWRITE_MCP_REQUIRE_KEYCHAIN === '1';
const scratch = mkdtempSync(join(tmpdir(), 'appwrite-mcp-bundle-test-'));
const installed = join(scratch, 'Claude Extensions', 'appwrite-mcp');
let cloud: Cloud;
let browser: Browser;
let seam: BrowserSeam;
let config: { dir: string; cleanup(): void };
let manifest: Record<string, any>;
const clients: Client[] = [];

beforeAll(async () => {
  const bundle = process.env.APPWRITE_MCP_TEST_BUNDLE ?? buildBundle({ outDir: join(scratch, 'out'), log: () => {} }).path;
  [cloud, browser] = await Promise.all([startCloud(), launchChromium(), unpackBundle(bundle, installed)]);
  manifest = JSON.parse(readFileSync(join(installed, 'manifest.json'), 'utf8'));
  seam = browserSeam();
  config = tempConfigDir();
}, 300_000);
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => {});
  await Promise.all([cloud?.stop(), browser?.close()]);
  seam?.cleanup();
  config?.cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

/** Runs the bundle as Claude Desktop would with these settings, connected to a real MCP client. */
async function runBundle(userConfig: Record<string, unknown>): Promise<{ client: Client; cfg: McpConfig; stderr(): string }> {
  const cfg = await resolveMcpConfig(manifest, installed, userConfig);
  expect(cfg.command).toBe('node');
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: cfg.args,
    // The user's environment (here: a throw-away config dir, the browser seam, and the test's own
    // keyring or none at all), then what mcp_config sets; started away from this checkout.
    env: { ...baseEnv(), APPWRITE_MCP_CONFIG_DIR: config.dir, ...seam.env, ...(withKeychain ? {} : NO_KEYCHAIN_ENV), ...cfg.env } as Record<string, string>,
    cwd: scratch,
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d) => (stderr += d));
  const client = new Client({ name: 'claude-desktop-stand-in', version: '1.0.0' });
  clients.push(client);
  await client.connect(transport, { timeout: 55_000 });
  return { client, cfg, stderr: () => stderr };
}

/** Every package directory under a node_modules tree, as lockfile paths (node_modules/a/node_modules/b). */
function installedPackages(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      const names = entry.name.startsWith('@') ? readdirSync(join(dir, entry.name)).map((n) => `${entry.name}/${n}`) : [entry.name];
      for (const name of names) {
        found.push(relative(root, join(dir, name)).split('\\').join('/'));
        walk(join(dir, name, 'node_modules'));
      }
    }
  };
  walk(join(root, 'node_modules'));
  return found;
}

describe('the .mcpb, unpacked into an empty directory', () => {
  it('holds a manifest mcpb validates, the entry point, the same dist/ the npm package ships, and production dependencies only', () => {
    expect(mcpb(['validate', join(installed, 'manifest.json')])).toContain('Manifest schema validation passes');
    expect(existsSync(join(installed, manifest.server.entry_point))).toBe(true);
    expect(manifest.server.mcp_config.args[0]).toBe(`\${__dirname}/${manifest.server.entry_point}`);

    const distFiles = (dir: string) => readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort();
    const ours = distFiles(join(ROOT, 'dist'));
    expect(ours.length).toBeGreaterThan(50);
    expect(distFiles(join(installed, 'dist'))).toEqual(ours);
    for (const file of ours) expect(readFileSync(join(installed, 'dist', file)).equals(readFileSync(join(ROOT, 'dist', file))), file).toBe(true);

    const lock = JSON.parse(readFileSync(join(ROOT, 'npm-shrinkwrap.json'), 'utf8')).packages as Record<string, { dev?: boolean; optional?: boolean; os?: string[]; cpu?: string[] }>;
    const packages = installedPackages(installed);
    const notProduction = packages.filter((p) => !lock[p] || lock[p]!.dev);
    expect(notProduction).toEqual([]);
    const required = Object.keys(lock).filter((p) => p.startsWith('node_modules/') && !lock[p]!.dev && !lock[p]!.optional);
    expect(required.filter((p) => !packages.includes(p))).toEqual([]);
    const binaries = packages.filter((p) => p.startsWith('node_modules/@napi-rs/keyring-')).map((p) => p.slice('node_modules/@napi-rs/keyring-'.length)).sort();
    expect(binaries).toEqual(['darwin-arm64', 'darwin-x64', 'linux-arm64-gnu', 'linux-arm64-musl', 'linux-x64-gnu', 'linux-x64-musl', 'win32-arm64-msvc', 'win32-x64-msvc']);
  });

  it('first run: signs in through the browser, lists the tools, calls one', async () => {
    const connecting = runBundle({ server_url: cloud.mcpUrl });
    const url = await seam.nextUrl({ timeoutMs: 30_000 });
    expect(new URL(url).searchParams.get('resource')).toBe(cloud.mcpUrl);
    const page = await completeSignIn(browser, url, cloud.user);
    expect(page.ok, page.title).toBe(true);
    await page.page.context().close();
    const { client, cfg } = await connecting;
    expect(cfg.args).toEqual([`${installed}/bin/appwrite-mcp.js`]);
    expect(cfg.env).toEqual({ APPWRITE_MCP_URL: cloud.mcpUrl, APPWRITE_MCP_PROFILE: '', APPWRITE_MCP_READ_ONLY: 'false' });

    const tools = (await client.listTools()).tools.map((t) => t.name);
    expect(tools).toEqual(expect.arrayContaining(['echo', 'whoami', 'admin_action']));
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'from the bundle' } }))).toBe('from the bundle');
    expect(cloud.stats.authorizationCodeGrants).toBe(1);

    // The sign-in is kept where the bundle's own keyring binary put it.
    const status = spawnSync(process.execPath, [join(installed, 'bin/appwrite-mcp.js'), 'status', '--json'], {
      env: { ...baseEnv(), APPWRITE_MCP_CONFIG_DIR: config.dir, ...(withKeychain ? {} : NO_KEYCHAIN_ENV), ...cfg.env },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(status.status, status.stderr).toBe(0);
    const server = JSON.parse(status.stdout).servers[0];
    expect(server.account.email).toBe(cloud.user.email);
    expect(server.secrets.store).toBe(withKeychain ? 'keychain' : 'file');
  }, 120_000);

  it('later runs reuse the sign-in; read-only shows only read-only tools and refuses the others', async () => {
    const { client } = await runBundle({ server_url: cloud.mcpUrl, read_only: true });
    expect(seam.urls()).toHaveLength(1);
    const tools = (await client.listTools()).tools.map((t) => t.name).sort();
    expect(tools).toEqual(['echo', 'whoami']);
    const refused = await client.callTool({ name: 'admin_action', arguments: {} }).then(() => undefined, (err: Error) => err);
    expect(refused?.message).toMatch(/--read-only/);
    expect(textOf(await client.callTool({ name: 'whoami', arguments: {} }))).toContain(cloud.user.sub);
  }, 120_000);

  it('a profile is a sign-in of its own: the browser opens again', async () => {
    const connecting = runBundle({ server_url: cloud.mcpUrl, profile: 'work' });
    const url = await seam.nextUrl({ count: 2, timeoutMs: 30_000 });
    const page = await completeSignIn(browser, url, cloud.user);
    expect(page.ok, page.title).toBe(true);
    await page.page.context().close();
    const { client } = await connecting;
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'work' } }))).toBe('work');
    expect(cloud.stats.authorizationCodeGrants).toBe(2);
  }, 120_000);
});
