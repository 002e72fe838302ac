// `login --device-code` end to end (RFC 8628): the built CLI shows a code, the person enters it on
// the local cloud's verification page in real headless Chromium, signs in and consents there, and
// the CLI, polling the token endpoint in real time meanwhile, ends signed in; the proxy then uses
// that sign-in. Every other behaviour of the device flow (slow_down, the 5 s floor, expiry, refusals,
// a forgotten registration, --timeout) is tested in-process on a virtual clock:
// test/commands/device-code.test.ts.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startCloud, type Cloud } from '../cloud/index.js';
import { approveDeviceCode, browserSeam, launchChromium, shownDeviceCode, type BrowserSeam } from '../helpers/browser.js';
import { NO_KEYCHAIN_ENV, runCli, startCli, tempConfigDir, type CliRun } from '../helpers/cli.js';
import { connectProxy, textOf } from '../helpers/proxy-client.js';
import { readStored } from '../helpers/stored.js';
import { expectDeviceCodeShown } from '../helpers/device-code.js';

let cloud: Cloud;
let browser: Browser;
let seam: BrowserSeam;
let config: { dir: string; cleanup(): void };
const runs: CliRun[] = [];
const outputs: string[] = [];

beforeAll(async () => {
  [cloud, browser] = await Promise.all([startCloud(), launchChromium()]);
});
afterAll(async () => {
  await Promise.all([cloud?.stop(), browser?.close()]);
});
afterEach(() => {
  for (const run of runs.splice(0)) run.kill('SIGKILL');
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
    expectDeviceCodeShown(run.stderr(), cloud.issuer, { userCode, verificationUri });

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
});
