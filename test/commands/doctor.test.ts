// `appwrite-mcp doctor` in-process (run(opts, factory)) against the local cloud: a front server whose
// clock is off, an AS that is down, revoked tokens, a 2026-07-28-only server, a dead server and a hung
// one. The sign-ins are made in-process too, the person at the "browser" over HTTP. The built CLI with
// the real Secret Service (good, broken, hung), Chromium and the network checks through an HTTP proxy
// and TLS (NODE_EXTRA_CA_CERTS is read at process start) are test/e2e/doctor.test.ts.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run as runDoctor } from '../../src/commands/doctor.js';
import { run as login } from '../../src/commands/login.js';
import { startCloud, type Cloud } from '../cloud/index.js';
import { tempConfigDir } from '../helpers/cli.js';
import { testFactory } from '../helpers/factory.js';
import { startSilentServer, startSkewedFront } from '../helpers/fronts.js';
import { signInOverHttp } from '../helpers/http-user.js';
import { readStored } from '../helpers/stored.js';
import { expectShape, type Check } from '../helpers/doctor-checks.js';

let cloud: Cloud;
const cleanups: Array<() => unknown> = [];
const outputs: string[] = [];

beforeAll(async () => { cloud = await startCloud(); });
afterAll(async () => { await cloud?.stop(); });
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); });

interface World { dir: string; env: NodeJS.ProcessEnv }

/** A config dir and a HOME of its own (the client configs doctor finds are the test's); secrets in the 0600 file. */
function world(): World {
  const config = tempConfigDir();
  const home = mkdtempSync(join(tmpdir(), 'appwrite-mcp-home-'));
  cleanups.push(() => config.cleanup(), () => rmSync(home, { recursive: true, force: true }));
  return { dir: config.dir, env: { HOME: home } };
}

async function signIn(w: World, url = cloud.mcpUrl) {
  const t = testFactory({ dir: w.dir, env: w.env, browser: (u) => signInOverHttp(u, cloud.user) });
  expect(await login({ url, browser: true }, t.f)).toBe(0);
  outputs.push(t.stderr());
}

async function doctor(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; checks: Check[]; byId: Record<string, Check>; ms: number }> {
  const url = args[args.indexOf('--url') + 1];
  const t = testFactory({ dir: env.APPWRITE_MCP_CONFIG_DIR ?? '', env });
  const started = Date.now();
  const code = await runDoctor({ url, json: true }, t.f);
  const ms = Date.now() - started;
  outputs.push(t.stdout(), t.stderr());
  const checks = JSON.parse(t.stdout()) as Check[];
  return { code, stdout: t.stdout(), checks, byId: Object.fromEntries(checks.map((c) => [c.id, c])), ms };
}

/** Revokes the stored access or refresh token at the AS (RFC 7009), behind doctor's back. */
async function revokeAtAs(dir: string, hint: 'access_token' | 'refresh_token') {
  const stored = (await readStored(dir, cloud.mcpUrl))!;
  const res = await fetch(stored.record.as.revocation_endpoint!, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: (hint === 'access_token' ? stored.accessToken : stored.refreshToken)!, token_type_hint: hint, client_id: stored.record.client.clientId }),
  });
  expect(res.status).toBe(200);
  return { accessToken: stored.accessToken!, refreshToken: stored.refreshToken! };
}

function expectNoTokens(tokens: { accessToken?: string; refreshToken?: string }) {
  for (const out of outputs) {
    if (tokens.accessToken) expect(out).not.toContain(tokens.accessToken);
    if (tokens.refreshToken) expect(out).not.toContain(tokens.refreshToken);
  }
}

describe('doctor', () => {
  it('a skewed clock: a server whose Date is 10 min ahead fails the clock check, 2 min behind warns', async () => {
    const w = world();
    const ahead = await startSkewedFront(cloud.mcpUrl, 10 * 60_000);
    cleanups.push(() => ahead.close());
    const r = await doctor(['--url', ahead.url], { ...w.env, APPWRITE_MCP_CONFIG_DIR: w.dir });
    expect(r.code).toBe(1);
    expectShape(r.checks);
    expect(r.byId.clock!.status).toBe('fail');
    expect(r.byId.clock!.summary).toMatch(/your clock is 10 min behind the server's: token expiry/);
    expect(r.byId.clock!.fix).toMatch(/timedatectl set-ntp true/);
    // The front is faithful otherwise: the discovery through it works.
    expect(r.byId.challenge!.status).toBe('ok');
    expect(r.byId['resource-metadata']!.status).toBe('ok');
    expect(r.byId['authorization-server']!.status).toBe('ok');

    const behind = await startSkewedFront(cloud.mcpUrl, -2 * 60_000);
    cleanups.push(() => behind.close());
    const r2 = await doctor(['--url', behind.url], { ...w.env, APPWRITE_MCP_CONFIG_DIR: w.dir });
    expect(r2.byId.clock!.status).toBe('warn');
    expect(r2.byId.clock!.summary).toMatch(/your clock is (119|120|121) s ahead of the server's|your clock is 2 min ahead of the server's/);

    const direct = await doctor(['--url', cloud.mcpUrl], { ...w.env, APPWRITE_MCP_CONFIG_DIR: w.dir });
    expect(direct.byId.clock!.status).toBe('ok');
  });

  it('an unreachable authorization server: ✗ authorization-server with the fix, the stored token still works, exit 1', async () => {
    const w = world();
    await signIn(w);
    await cloud.stopAuthServer();
    try {
      const r = await doctor(['--url', cloud.mcpUrl], { ...w.env, APPWRITE_MCP_CONFIG_DIR: w.dir });
      expect(r.code).toBe(1);
      expectShape(r.checks);
      const as = r.byId['authorization-server']!;
      expect(as.status).toBe('fail');
      expect(as.summary).toContain(`cannot reach the authorization server ${cloud.issuer}`);
      expect(as.summary).toMatch(/connection refused/);
      expect(as.fix).toMatch(/can neither refresh a token nor sign in/);
      expect(r.byId.pkce!.status).toBe('skip');
      // What still works is said to work.
      expect(r.byId['resource-metadata']!.status).toBe('ok');
      expect(r.byId.token!.status).toBe('ok');
      expect(r.byId.refresh!.status).toBe('warn');
      expect(r.byId.refresh!.summary).toMatch(/a refresh token is held, but the authorization server is unreachable: refreshing fails until it answers \(the access token is good until /);
      expect(r.byId.keychain!.status).toBe('warn'); // broken too, but not needed: the secrets are in the file
      expect(r.ms).toBeLessThan(15_000);
    } finally {
      await cloud.startAuthServer();
    }
  });

  it('a revoked access token: doctor refreshes it as the proxy would (under the lock, saved), and says so', async () => {
    const w = world();
    await signIn(w);
    const revoked = await revokeAtAs(w.dir, 'access_token');
    const before = cloud.stats.refreshGrants;
    const r = await doctor(['--url', cloud.mcpUrl], { ...w.env, APPWRITE_MCP_CONFIG_DIR: w.dir });
    expect(r.code, r.stdout).toBe(0);
    expect(r.byId.token!.status).toBe('warn');
    expect(r.byId.token!.summary).toMatch(/the server rejected the stored access token \(HTTP 401: invalid_token.*\); refreshed it as the proxy would and saved the result to file .*, and the server accepts the new one/);
    expect(r.byId.refresh!.status).toBe('ok');
    expect(cloud.stats.refreshGrants).toBe(before + 1);
    // The rotated refresh token was saved; the old one is spent.
    const after = (await readStored(w.dir, cloud.mcpUrl))!;
    expect(after.refreshToken).not.toBe(revoked.refreshToken);
    expect(after.accessToken).not.toBe(revoked.accessToken);
    expect(await cloud.tokenStatus(after.refreshToken!)).toBe('active');
    // And the next run finds everything in order, without another refresh.
    const again = await doctor(['--url', cloud.mcpUrl], { ...w.env, APPWRITE_MCP_CONFIG_DIR: w.dir });
    expect(again.code).toBe(0);
    expect(again.byId.token!.status).toBe('ok');
    expect(cloud.stats.refreshGrants).toBe(before + 1);
    expectNoTokens(revoked);
    expectNoTokens(after);
  });

  it('a revoked grant (refresh token revoked at the AS): ✗ token and ✗ refresh, the fix is to sign in again', async () => {
    const w = world();
    await signIn(w);
    const revoked = await revokeAtAs(w.dir, 'refresh_token');
    const r = await doctor(['--url', cloud.mcpUrl], { ...w.env, APPWRITE_MCP_CONFIG_DIR: w.dir });
    expect(r.code).toBe(1);
    expectShape(r.checks);
    expect(r.byId['sign-in']!.status).toBe('ok'); // present and readable
    expect(r.byId.token!.status).toBe('fail');
    expect(r.byId.token!.summary).toMatch(/the server rejected the stored access token \(HTTP 401/);
    expect(r.byId.refresh!.status).toBe('fail');
    expect(r.byId.refresh!.summary).toMatch(/refused the stored refresh token \(invalid_grant.*a new sign-in is needed \(the refresh token is dropped, as the proxy drops it\)/);
    expect(r.byId.refresh!.fix).toBe(`npx appwrite-mcp login --url ${cloud.mcpUrl}`);
    // As the proxy does, the refused refresh token is dropped: the next run does not try it again.
    const again = await doctor(['--url', cloud.mcpUrl], { ...w.env, APPWRITE_MCP_CONFIG_DIR: w.dir });
    expect(again.byId.refresh!.summary).toBe('no refresh token: only a new sign-in helps');
    expectNoTokens(revoked);
  });

  it('a 2026-07-28-only server (a 2025 initialize gets 400 once past the token check): the token still counts as accepted', async () => {
    const w = world();
    await signIn(w, cloud.modernMcpUrl);
    const r = await doctor(['--url', cloud.modernMcpUrl], { ...w.env, APPWRITE_MCP_CONFIG_DIR: w.dir });
    expect(r.byId['authorization-server']!.summary).toContain(cloud.modernIssuer);
    expect(r.byId.token!.status).toBe('ok');
    expect(r.byId.token!.summary).toBe('the server accepts the stored access token (HTTP 400 to initialize)');
    expect(r.byId.token!.detail![0]).toMatch(/only after it took the token/);
    expect(r.code, r.stdout).toBe(0);
    // A token the server does not take is still told apart.
    const stored = (await readStored(w.dir, cloud.modernMcpUrl))!;
    const rejected = await doctor(['--url', cloud.modernMcpUrl], { ...w.env, APPWRITE_MCP_CONFIG_DIR: w.dir, APPWRITE_MCP_TOKEN: `${stored.accessToken!.slice(0, -4)}AAAA` });
    expect(rejected.byId.token!.status).toBe('fail');
    expect(rejected.byId.token!.summary).toMatch(/^the server refuses APPWRITE_MCP_TOKEN: HTTP 401/);
    expect(rejected.byId.refresh!.status).toBe('skip');
  });

  it('a dead server and a hung one: ✗ within seconds, the rest skipped', async () => {
    const w = world();
    const hung = await startSilentServer();
    cleanups.push(() => hung.close());
    const deadPort = await (async () => {
      const s = await startSilentServer();
      const port = s.port!;
      await s.close();
      return port;
    })();

    const dead = await doctor(['--url', `http://127.0.0.1:${deadPort}/`], { ...w.env, APPWRITE_MCP_CONFIG_DIR: w.dir });
    expect(dead.code).toBe(1);
    expectShape(dead.checks);
    expect(dead.byId.connect!.status).toBe('fail');
    expect(dead.byId.connect!.summary).toMatch(/connection refused/);
    expect(dead.byId.connect!.fix).toMatch(/Nothing is listening/);
    for (const id of ['clock', 'challenge', 'resource-metadata', 'authorization-server', 'pkce']) expect(dead.byId[id]!.status).toBe('skip');
    expect(dead.byId['sign-in']!.status).toBe('fail');
    expect(dead.ms).toBeLessThan(8_000);

    const silent = await doctor(['--url', hung.url], { ...w.env, APPWRITE_MCP_CONFIG_DIR: w.dir });
    expect(silent.code).toBe(1);
    expect(silent.byId.connect!.status).toBe('ok');
    expect(silent.byId.challenge!.status).toBe('fail');
    expect(silent.byId.challenge!.summary).toMatch(/did not answer initialize.*timed out/);
    expect(silent.ms).toBeLessThan(12_000);
  });
});
