// The package as a user gets it. A copy of the checkout as a fresh clone has it (no dist/, no
// node_modules of its own) is packed with `npm pack` — `prepack` builds dist/ — and the tarball is
// installed with `npm install --prefix <empty dir> <tarball>` and a fresh HOME, from the npm registry
// as this machine's npm is configured. Then the installed bin runs the way `npx -y appwrite-mcp`
// would run it: `--help`, `status` and a proxy session under a real MCP client (the SDK's Client over
// StdioClientTransport) against a no-auth MCP server started here. The install must stay within the
// targets the README gives: at most 60 packages and 35 MB.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ROOT, baseEnv } from '../helpers/cli.js';
import { textOf } from '../helpers/proxy-client.js';

/** The README's targets for what `npm install appwrite-mcp` puts in node_modules. */
const MAX_PACKAGES = 60;
const MB = 1024 * 1024; // as du -h counts
const MAX_INSTALLED_BYTES = 35 * MB;

const tmp = mkdtempSync(join(tmpdir(), 'appwrite-mcp-package-'));
const clone = join(tmp, 'clone');
const packDir = join(tmp, 'pack');
const prefix = join(tmp, 'prefix');
const home = join(tmp, 'home');
const installedBin = join(prefix, 'node_modules/.bin/appwrite-mcp');
const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;

interface Run { code: number | null; stdout: string; stderr: string; ms: number }

/** Runs a command to its end, killed after `timeoutMs`. */
function run(command: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<Run> {
  const started = Date.now();
  const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/**
 * npm as this machine has it configured (its user config: registry, CA file; its cache), but with a
 * fresh HOME and none of the npm_* variables that `npm test` put into this process's environment.
 */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key)) env[key] = value;
  return {
    ...env,
    HOME: home,
    npm_config_userconfig: process.env.npm_config_userconfig || join(homedir(), '.npmrc'),
    npm_config_cache: process.env.npm_config_cache || join(homedir(), '.npm'),
    npm_config_update_notifier: 'false',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
  };
}

/** What the installed CLI runs with: a fresh HOME, nothing of this checkout's config. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...baseEnv(), HOME: home, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` };
  delete env.XDG_CONFIG_HOME;
  delete env.APPWRITE_MCP_CONFIG_DIR;
  delete env.APPWRITE_MCP_CLIENT_ID;
  delete env.APPWRITE_MCP_CLIENT_SECRET;
  delete env.NODE_OPTIONS;
  for (const key of Object.keys(env)) if (/^npm_/i.test(key)) delete env[key];
  return env;
}

/** A fresh clone's files: tracked and untracked-but-not-ignored ones, as they are in the work tree. */
async function copyCheckout(): Promise<void> {
  const ls = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, env: process.env, timeoutMs: 30_000 });
  expect(ls.code, ls.stderr).toBe(0);
  for (const file of ls.stdout.split('\0').filter(Boolean)) {
    const from = join(ROOT, file);
    if (!existsSync(from) || !lstatSync(from).isFile()) continue; // deleted in the work tree, or a symlink / submodule
    mkdirSync(dirname(join(clone, file)), { recursive: true });
    copyFileSync(from, join(clone, file));
  }
  // `npm ci` would install the dev dependencies; the checkout's own are the same ones.
  symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'), 'dir');
}

/** Every package in a node_modules tree (scoped and nested ones too), and the tree's size. */
function measure(nodeModules: string): { packages: string[]; bytes: number; diskBytes: number } {
  const packages: string[] = [];
  let bytes = 0;
  let diskBytes = 0;
  const walkSize = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const st = lstatSync(path);
      bytes += st.size;
      diskBytes += st.blocks * 512;
      if (entry.isDirectory()) walkSize(path);
    }
  };
  const walkPackages = (dir: string, parent: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || !entry.isDirectory()) continue;
      const dirs = entry.name.startsWith('@')
        ? readdirSync(join(dir, entry.name), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => `${entry.name}/${e.name}`)
        : [entry.name];
      for (const name of dirs) {
        if (!existsSync(join(dir, name, 'package.json'))) continue;
        packages.push(parent ? `${parent} > ${name}` : name);
        if (existsSync(join(dir, name, 'node_modules'))) walkPackages(join(dir, name, 'node_modules'), name);
      }
    }
  };
  walkSize(nodeModules);
  walkPackages(nodeModules, '');
  return { packages, bytes, diskBytes };
}

/** A no-auth MCP server (SDK 1.32), stateless like mcp.appwrite.io: a fresh server and transport per POST. */
async function startNoAuthServer(): Promise<{ url: string; authorizationHeaders: string[]; requests: number; server: Server }> {
  const state = { authorizationHeaders: [] as string[], requests: 0 };
  const server = createServer(async (req, res) => {
    state.requests++;
    if (req.headers.authorization) state.authorizationHeaders.push(req.headers.authorization);
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST', 'content-type': 'application/json' })
        .end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed' }, id: null }));
      return;
    }
    const mcp = new McpServer({ name: 'no-auth-test-server', version: '1.0.0' });
    mcp.registerTool('echo', { description: 'Returns the text unchanged.', inputSchema: { text: z.string() } },
      async ({ text }) => ({ content: [{ type: 'text', text }] }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void mcp.close();
    });
    await mcp.connect(transport);
    await transport.handleRequest(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    get authorizationHeaders() { return state.authorizationHeaders; },
    get requests() { return state.requests; },
    server,
  };
}

let tarball = '';
let packedFiles: string[] = [];
let install: Run;
let installed: ReturnType<typeof measure>;
let noAuth: Awaited<ReturnType<typeof startNoAuthServer>> | undefined;
let unbuilt: Run;

beforeAll(async () => {
  // Node resolves packages up the directory tree: a node_modules above the prefix would hide a missing dependency.
  for (let dir = tmp; dirname(dir) !== dir; dir = dirname(dir)) {
    expect(existsSync(join(dirname(dir), 'node_modules')), `${dirname(dir)}/node_modules exists and would mask missing dependencies`).toBe(false);
  }
  mkdirSync(packDir);
  mkdirSync(prefix);
  mkdirSync(home);
  await copyCheckout();
  // A clone that was not built yet: the launcher says what to do instead of a stack trace.
  unbuilt = await run(process.execPath, [join(clone, 'bin/appwrite-mcp.js'), '--help'], { cwd: tmp, env: userEnv(), timeoutMs: 30_000 });
  const pack = await run('npm', ['pack', '--json', '--pack-destination', packDir], { cwd: clone, env: npmEnv(), timeoutMs: 180_000 });
  expect(pack.code, `npm pack failed:\n${pack.stderr}`).toBe(0);
  const [info] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as Array<{ filename: string; size: number; unpackedSize: number; files: Array<{ path: string }> }>;
  tarball = join(packDir, info!.filename);
  packedFiles = info!.files.map((f) => f.path).sort();
  install = await run('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', tarball], { cwd: tmp, env: npmEnv(), timeoutMs: 240_000 });
  expect(install.code, `npm install failed:\n${install.stderr}`).toBe(0);
  installed = measure(join(prefix, 'node_modules'));
  process.stdout.write(`package: tarball ${(info!.size / 1000).toFixed(1)} kB (${info!.files.length} files, ${(info!.unpackedSize / 1000).toFixed(1)} kB unpacked); `
    + `installed ${installed.packages.length} packages, ${(installed.bytes / MB).toFixed(1)} MB (${(installed.diskBytes / MB).toFixed(1)} MB on disk); npm install took ${(install.ms / 1000).toFixed(1)} s\n`);
}, 420_000);

afterAll(async () => {
  if (noAuth) {
    noAuth.server.closeAllConnections();
    await new Promise((resolve) => noAuth!.server.close(resolve));
  }
  rmSync(tmp, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('a fresh clone has no dist/ (its launcher says to build), and `npm pack` builds it (prepack)', () => {
    expect(unbuilt.code, unbuilt.stderr).toBe(1);
    expect(unbuilt.stderr).toContain('npm ci && npm run build');
    expect(packedFiles).toContain('dist/cli.js');
  });

  it('ships exactly bin, dist (one file per source module), README, LICENSE, package.json and npm-shrinkwrap.json', async () => {
    const sources = await run('git', ['ls-files', '--cached', '--others', '--exclude-standard', 'src'], { cwd: ROOT, env: process.env, timeoutMs: 30_000 });
    const dist = sources.stdout.split('\n').filter((f) => /\.tsx?$/.test(f) && !f.endsWith('.d.ts') && existsSync(join(ROOT, f)))
      .map((f) => f.replace(/^src\//, 'dist/').replace(/\.tsx?$/, '.js'));
    expect(packedFiles).toEqual(['LICENSE', 'README.md', 'bin/appwrite-mcp.js', ...dist, 'npm-shrinkwrap.json', 'package.json'].sort());
  });

  it(`installs within the targets: at most ${MAX_PACKAGES} packages and ${MAX_INSTALLED_BYTES / MB} MB, no MCP SDK`, () => {
    const names = installed.packages.map((p) => p.split(' > ').pop()!);
    expect(names).toContain('appwrite-mcp');
    for (const devOnly of ['@modelcontextprotocol/sdk', 'express', 'zod', 'typescript']) expect(names).not.toContain(devOnly);
    expect(installed.packages.length, installed.packages.join(', ')).toBeLessThanOrEqual(MAX_PACKAGES);
    expect(installed.bytes).toBeLessThanOrEqual(MAX_INSTALLED_BYTES);
    expect(installed.diskBytes).toBeLessThanOrEqual(MAX_INSTALLED_BYTES);
  });

  it('the installed bin prints its help and version', async () => {
    const help = await run(installedBin, ['--help'], { cwd: home, env: userEnv(), timeoutMs: 30_000 });
    expect(help.code, help.stderr).toBe(0);
    for (const word of ['login', 'status', 'logout', 'setup', 'proxy']) expect(help.stdout).toContain(word);
    const v = await run(installedBin, ['--version'], { cwd: home, env: userEnv(), timeoutMs: 30_000 });
    expect(v.stdout.trim()).toBe(version);
  });

  it('`status` with a fresh HOME exits 3: not signed in', async () => {
    const r = await run(installedBin, ['status'], { cwd: home, env: userEnv(), timeoutMs: 30_000 });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(3);
    expect(`${r.stdout}${r.stderr}`).toContain('login');
  });

  it('a proxy session under a real MCP client: initialize, tools/list, tools/call', async () => {
    noAuth = await startNoAuthServer();
    const transport = new StdioClientTransport({
      command: installedBin,
      args: ['--url', noAuth.url, '--no-browser'],
      env: userEnv() as Record<string, string>,
      cwd: home,
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (d) => (stderr += d));
    const client = new Client({ name: 'package-test-client', version: '1.0.0' });
    try {
      await client.connect(transport, { timeout: 30_000 });
      expect(client.getServerVersion()?.name).toBe('no-auth-test-server');
      const { tools } = await client.listTools(undefined, { timeout: 30_000 });
      expect(tools.map((t) => t.name)).toEqual(['echo']);
      const result = await client.callTool({ name: 'echo', arguments: { text: 'hello from the installed package' } }, undefined, { timeout: 30_000 });
      expect(textOf(result)).toBe('hello from the installed package');
    } catch (err) {
      throw new Error(`${(err as Error).message}\nproxy stderr:\n${stderr}`);
    } finally {
      await client.close();
    }
    expect(noAuth.requests).toBeGreaterThanOrEqual(3);
    expect(noAuth.authorizationHeaders, 'a server that asks for no sign-in gets no token').toEqual([]);
  });

  it('`npm publish --dry-run` is clean: no warning but the one about not being logged in here', async () => {
    const r = await run('npm', ['publish', '--dry-run', '--ignore-scripts'], { cwd: clone, env: npmEnv(), timeoutMs: 120_000 });
    const warnings = r.stderr.split('\n').filter((l) => /npm warn/i.test(l) && !/requires you to be logged in/.test(l));
    expect(warnings).toEqual([]);
    // Once this version is on the registry, the dry-run refuses to publish over it: that is not the package's fault.
    if (r.code !== 0) expect(r.stderr).toMatch(/cannot publish over the previously published versions/);
  });
});
