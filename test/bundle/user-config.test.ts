// The bundle's manifest and its settings, without packing: the manifest built from
// test/bundle/manifest.template.json passes the official `mcpb validate`, and the settings a user
// gives in Claude Desktop (user_config) reach the CLI as Claude Desktop passes them — through
// mcp_config's env, substituted by @anthropic-ai/mcpb's getMcpConfigForManifest, the code its README
// names as what Claude for macOS and Windows use (see ./claude-desktop.ts).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleManifest, mcpb } from './build.mjs';
import { resolveMcpConfig } from './claude-desktop.js';
import { ROOT, runCli, tempConfigDir } from '../helpers/cli.js';

const config = tempConfigDir();
const scratch = mkdtempSync(join(tmpdir(), 'appwrite-mcp-manifest-'));
afterAll(() => {
  config.cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

/** mcp_config as Claude Desktop resolves it for the manifest built from the template. */
const resolved = (dir: string, userConfig: Record<string, unknown>) => resolveMcpConfig(bundleManifest(), dir, userConfig);

describe('the bundle manifest', () => {
  it('passes `mcpb validate`; a manifest without its server does not', () => {
    const manifest = bundleManifest();
    const path = join(scratch, 'manifest.json');
    writeFileSync(path, JSON.stringify(manifest));
    expect(mcpb(['validate', path])).toContain('Manifest schema validation passes');
    const { server: _server, ...broken } = manifest;
    writeFileSync(path, JSON.stringify(broken));
    expect(() => mcpb(['validate', path])).toThrow(/Manifest validation failed[\s\S]*server/);
  });

  it('runs the package launcher with node, asks for Node.js as engines says, on every desktop platform', () => {
    const manifest = bundleManifest();
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(manifest.version).toBe(pkg.version);
    expect(manifest.server).toMatchObject({ type: 'node', entry_point: 'bin/appwrite-mcp.js', mcp_config: { command: 'node', args: ['${__dirname}/bin/appwrite-mcp.js'] } });
    expect(manifest.compatibility).toEqual({ platforms: ['darwin', 'win32', 'linux'], runtimes: { node: pkg.engines.node } });
  });
});

describe('settings from Claude Desktop', () => {
  it('defaults: the hosted server, no profile, all tools', async () => {
    const cfg = await resolved('/opt/bundle', {});
    expect(cfg.command).toBe('node');
    expect(cfg.args).toEqual(['/opt/bundle/bin/appwrite-mcp.js']);
    expect(cfg.env).toEqual({ APPWRITE_MCP_URL: 'https://mcp.appwrite.io/', APPWRITE_MCP_PROFILE: '', APPWRITE_MCP_READ_ONLY: 'false' });
  });

  it("the user's values replace the defaults", async () => {
    const cfg = await resolved('/opt/bundle', { server_url: 'https://fra.example/p1/mcp', profile: 'work', read_only: true });
    expect(cfg.env).toEqual({ APPWRITE_MCP_URL: 'https://fra.example/p1/mcp', APPWRITE_MCP_PROFILE: 'work', APPWRITE_MCP_READ_ONLY: 'true' });
  });

  it('the CLI takes them: a URL the user cleared is the hosted server, a profile keys the sign-in', async () => {
    const env = { APPWRITE_MCP_CONFIG_DIR: config.dir };
    const cleared = await runCli(['token'], { ...env, ...(await resolved(ROOT, { server_url: '' })).env });
    expect(cleared.code, cleared.stderr).toBe(3);
    expect(cleared.stderr).toContain('not signed in to https://mcp.appwrite.io/');
    const work = await runCli(['token'], { ...env, ...(await resolved(ROOT, { server_url: 'https://fra.example/p1/mcp', profile: 'work' })).env });
    expect(work.code, work.stderr).toBe(3);
    expect(work.stderr).toMatch(/login --url https:\/\/fra\.example\/p1\/mcp --profile work/);
  });

  it('APPWRITE_MCP_READ_ONLY takes true or false (1 or 0), empty is unset, anything else is a usage error naming it', async () => {
    const env = { APPWRITE_MCP_CONFIG_DIR: config.dir, APPWRITE_MCP_URL: 'https://fra.example/p1/mcp' };
    for (const value of ['true', 'false', '1', '0', '']) {
      const r = await runCli(['token'], { ...env, APPWRITE_MCP_READ_ONLY: value });
      expect(r.code, `${value}: ${r.stderr}`).toBe(3);
    }
    const bad = await runCli(['token'], { ...env, APPWRITE_MCP_READ_ONLY: 'yes please' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('APPWRITE_MCP_READ_ONLY is "yes please": use true or false');
  });
});
