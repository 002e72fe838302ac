// `login --device-code` end to end (RFC 8628): the built CLI shows a code, the person enters it on
// the local cloud's verification page in real headless Chromium, signs in and consents there, and
// the CLI, polling the token endpoint meanwhile, ends signed in. The cloud's tamper answers chosen
// polls with `slow_down` or `expired_token`, and records when every poll arrived.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startCloud, type Cloud, type Tamper } from '../cloud/index.js';
import { approveDeviceCode, browserSeam, finishDeviceConsent, launchChromium, shownDeviceCode, type BrowserSeam } from '../helpers/browser.js';
import { NO_KEYCHAIN_ENV, runCli, startCli, tempConfigDir, type CliRun } from '../helpers/cli.js';
import { connectProxy, textOf } from '../helpers/proxy-client.js';
import { readStored } from '../helpers/stored.js';

const tamper: Tamper & { devicePollErrors: string[] } = { devicePollErrors: [] };
let cloud: Cloud;
let browser: Browser;
let seam: BrowserSeam;
let config: { dir: string; cleanup(): void };
const runs: CliRun[] = [];
const outputs: string[] = [];

beforeAll(async () => {
  [cloud, browser] = await Promise.all([startCloud({ tamper }), launchChromium()]);
});
afterAll(async () => {
  await Promise.all([cloud?.stop(), browser?.close()]);
});
afterEach(() => {
  for (const run of runs.splice(0)) run.kill('SIGKILL');
  tamper.devicePollErrors.length = 0;
  delete tamper.deviceInterval;
  seam?.cleanup();
  config?.cleanup();
});

function freshEnv(): NodeJS.ProcessEnv {
  seam = browserSeam();
  config = tempConfigDir();
  return { APPWRITE_MCP_CONFIG_DIR: config.dir, ...seam.env, ...NO_KEYCHAIN_ENV };
}

function login(args: string[], env: NodeJS.ProcessEnv): CliRun {
  const run = startCli(['login', '--device-code', '--store', 'file', ...args], env, { timeoutMs: 110_000 });
  runs.push(run);
  void run.result.then((r) => outputs.push(r.stdout, r.stderr));
  return run;
}

async function cli(args: string[], env: NodeJS.ProcessEnv) {
  const r = await runCli(args, env);
  outputs.push(r.stdout, r.stderr);
  return r;
}

const approveOnPage = (url: string, userCode: string | undefined, consent: 'allow' | 'deny' | 'none' = 'allow') => approveDeviceCode(browser, url, cloud.user, { userCode, consent });

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

describe('login --device-code', () => {
  it('--no-browser prints the code and the address; entered in the browser, it signs in with a refresh token the proxy then uses', async () => {
    const env = freshEnv();
    const registrations = cloud.stats.registrations;
    const polls = cloud.devicePolls().length;
    const run = login(['--url', cloud.mcpUrl, '--no-browser'], env);
    const { userCode, verificationUri } = await shownDeviceCode(run);
    expect(userCode).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    expect(verificationUri).toBe(`${cloud.issuer}/device`);
    expect(run.stderr()).toContain([
      'To sign in, open this address in a browser on any device:',
      `  ${cloud.issuer}/device`,
      'and enter this code:',
      `  ${userCode}`,
      `(or open ${cloud.issuer}/device?user_code=${userCode}, which has the code filled in)`,
      'Waiting for you to approve the sign-in; the code expires in 10 min.',
    ].join('\n'));

    const page = await approveOnPage(verificationUri, userCode);
    expect(page).toMatchObject({ title: 'Device connected', ok: true });
    const result = await run.result;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`✓ Signed in to ${cloud.mcpUrl}`);
    expect(seam.urls()).toEqual([]); // --no-browser: nothing opened
    // One registration, for the device grant; polls no closer than the default 5 s (RFC 8628 §3.5).
    expect(cloud.stats.registrations).toBe(registrations + 1);
    const mine = cloud.devicePolls().slice(polls);
    expect(mine.at(-1)?.answer).toBe('tokens');
    for (const gap of gaps(mine.map((p) => p.at))) expect(gap).toBeGreaterThanOrEqual(4_500);

    const status = await cli(['status', '--url', cloud.mcpUrl, '--json'], env);
    expect(status.code, status.stderr).toBe(0);
    const s = JSON.parse(status.stdout).servers[0];
    expect(s.ok).toBe(true);
    expect(s.account).toMatchObject({ sub: cloud.user.sub, email: cloud.user.email });
    expect(s.refreshToken.present).toBe(true);
    expect(s.issuer).toBe(cloud.issuer);
    expect(s.client.registration).toBe('dcr');
    const stored = (await readStored(config.dir, cloud.mcpUrl))!;
    expect((await cloud.verifyAccessToken(stored.accessToken!)).aud).toBe(cloud.mcpUrl);
    expect(await cloud.tokenStatus(stored.refreshToken!)).toBe('active');

    // The proxy takes the device sign-in as any other: the real tools, no browser.
    const proxy = await connectProxy(['--url', cloud.mcpUrl, '--no-browser'], env);
    try {
      expect(textOf(await proxy.client.callTool({ name: 'echo', arguments: { text: 'device' } }))).toBe('device');
    } finally {
      await proxy.close();
    }
    expect(seam.urls()).toEqual([]);
    for (const out of outputs) {
      expect(out).not.toContain(stored.accessToken);
      expect(out).not.toContain(stored.refreshToken);
    }
  });

  it('opens the address that carries the code; the device registration is reused, and replaced once the AS forgot it; --timeout bounds the wait (exit 5)', async () => {
    const env = freshEnv();
    const registrations = cloud.stats.registrations;
    const run = login(['--url', cloud.mcpUrl], env);
    const opened = await seam.nextUrl();
    const { userCode } = await shownDeviceCode(run);
    expect(opened).toBe(`${cloud.issuer}/device?user_code=${userCode}`);
    expect(run.stderr()).toContain(`A browser tab has been opened to sign in; check that it shows this code:\n  ${userCode}\n`);
    const page = await approveOnPage(opened, undefined);
    expect(page.ok).toBe(true);
    expect((await run.result).code).toBe(0);
    expect(cloud.stats.registrations).toBe(registrations + 1);

    const started = Date.now();
    const again = await login(['--url', cloud.mcpUrl, '--timeout', '2'], env).result;
    expect(again.code).toBe(5);
    expect(again.stderr).toMatch(/the sign-in with the code \S+ was not approved within 2 s\n {2}Run `.* login --url \S+ --device-code` again for a new code/);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(cloud.stats.registrations).toBe(registrations + 1); // the cached device registration

    // An AS that forgot the cached registration (invalid_client): registered anew, once, and the code shown.
    const statePath = join(config.dir, 'state.json');
    const state = JSON.parse(readFileSync(statePath, 'utf8'));
    expect(Object.keys(state.clients)).toEqual([`${cloud.issuer} ${cloud.mcpUrl} device`]);
    state.clients[`${cloud.issuer} ${cloud.mcpUrl} device`].clientId = 'forgotten-client-id';
    writeFileSync(statePath, JSON.stringify(state));
    const forgotten = await login(['--url', cloud.mcpUrl, '--timeout', '1', '--no-browser'], env).result;
    expect(forgotten.code).toBe(5);
    expect(forgotten.stderr).toContain('and enter this code:');
    expect(cloud.stats.registrations).toBe(registrations + 2);
    expect(JSON.parse(readFileSync(statePath, 'utf8')).clients[`${cloud.issuer} ${cloud.mcpUrl} device`].clientId).not.toBe('forgotten-client-id');
  });

  it('slow_down adds 5 s to the interval for this and every later poll (RFC 8628 §3.5)', async () => {
    const env = freshEnv();
    tamper.devicePollErrors.push('slow_down');
    const polls = cloud.devicePolls().length;
    const run = login(['--url', cloud.mcpUrl, '--no-browser', '--debug'], env);
    const { userCode, verificationUri } = await shownDeviceCode(run);
    // Everything but the final Allow, then wait for the slowed-down poll that still finds it pending.
    const { page } = await approveOnPage(verificationUri, userCode, 'none');
    for (let i = 0; i < 1200 && cloud.devicePolls().length < polls + 2; i++) await new Promise((r) => setTimeout(r, 50));
    await finishDeviceConsent(page, 'allow');
    const result = await run.result;
    expect(result.code, result.stderr).toBe(0);
    // The first poll answered slow_down; every poll after it 10 s apart, not 5 (a slow machine may add pending ones).
    const mine = cloud.devicePolls().slice(polls);
    const answers = mine.map((p) => p.answer);
    expect(answers[0]).toBe('slow_down');
    expect(answers.at(-1)).toBe('tokens');
    expect(answers.slice(1, -1).length).toBeGreaterThanOrEqual(1);
    expect(new Set(answers.slice(1, -1))).toEqual(new Set(['authorization_pending']));
    for (const gap of gaps(mine.map((p) => p.at))) expect(gap).toBeGreaterThanOrEqual(9_500);
    expect(result.stderr).toContain('asked to slow down: polling every 10 s from now on');
  }, 120_000);

  it('an interval under RFC 8628\'s 5 s default (0.001 s) is not followed: the first poll comes after 5 s', async () => {
    const env = freshEnv();
    tamper.deviceInterval = 0.001;
    const polls = cloud.devicePolls().length;
    const run = login(['--url', cloud.mcpUrl, '--no-browser'], env);
    const { userCode, verificationUri } = await shownDeviceCode(run);
    const shownAt = Date.now();
    await approveOnPage(verificationUri, userCode);
    const result = await run.result;
    expect(result.code, result.stderr).toBe(0);
    const mine = cloud.devicePolls().slice(polls);
    expect(mine[0]!.at - shownAt).toBeGreaterThanOrEqual(4_500);
    for (const gap of gaps(mine.map((p) => p.at))) expect(gap).toBeGreaterThanOrEqual(4_900);
  }, 60_000);

  it('a refused consent ends with exit 6; nothing is saved', async () => {
    const env = freshEnv();
    const run = login(['--url', cloud.mcpUrl, '--no-browser'], env);
    const { userCode, verificationUri } = await shownDeviceCode(run);
    const page = await approveOnPage(verificationUri, userCode, 'deny');
    expect(page).toMatchObject({ title: 'Sign-in cancelled', ok: false });
    const result = await run.result;
    expect(result.code).toBe(6);
    expect(result.stderr).toContain('appwrite-mcp: access was denied at the authorization server');
    expect(result.stderr).toMatch(/Run `.* login --url \S+ --device-code` again and choose Allow/);
    expect((await cli(['status', '--url', cloud.mcpUrl], env)).code).toBe(3);
  });

  it('expired_token ends with exit 5 and says to run it again', async () => {
    const env = freshEnv();
    tamper.devicePollErrors.push('expired_token');
    const run = login(['--url', cloud.mcpUrl, '--no-browser'], env);
    const { userCode } = await shownDeviceCode(run);
    const result = await run.result;
    expect(result.code).toBe(5);
    expect(result.stderr).toContain(`appwrite-mcp: the code ${userCode} expired before the sign-in was approved`);
    expect(result.stderr).toMatch(/Run `.* login --url \S+ --device-code` again for a new code\./);
    expect((await cli(['status', '--url', cloud.mcpUrl], env)).code).toBe(3);
  });

  it('an authorization server without the device grant: a clear error naming it, the paste flow suggested, exit 1', async () => {
    const env = freshEnv();
    const registrations = cloud.stats.registrations;
    const project = cloud.projectMcpUrl('demo-project');
    const result = await login(['--url', project], env).result;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`appwrite-mcp: the authorization server "${cloud.projectIssuer('demo-project')}" does not offer the device authorization grant`);
    expect(result.stderr).toMatch(new RegExp(`run \`.* login --url ${project.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} --no-browser\``));
    expect(seam.urls()).toEqual([]);
    expect(cloud.stats.registrations).toBe(registrations);
  });

  it('--device-code with a grant without a person is a usage error', async () => {
    const env = freshEnv();
    const result = await cli(['login', '--device-code', '--client-credentials', '--client-id', 'x', '--url', cloud.mcpUrl], { ...env, APPWRITE_MCP_CLIENT_SECRET: 's' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--device-code signs a person in');
  });

  it('--device-code with a fixed callback is a usage error (the device grant has no redirect)', async () => {
    const env = freshEnv();
    const result = await cli(['login', '--device-code', '--callback-port', '8765', '--url', cloud.mcpUrl], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--device-code uses no callback');
  });
});
