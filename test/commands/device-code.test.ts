// `login --device-code` (RFC 8628) in-process against the local cloud's device flow, on a virtual
// clock: the command waits between polls as the RFC says (5 s at least, 5 s more after slow_down, a
// backoff when the token endpoint fails), and the clock records every wait instead of sleeping it.
// The person approves on the cloud's device pages over HTTP. The built CLI with Chromium and real
// time is test/e2e/device-code.test.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { run as login, type LoginOptions } from '../../src/commands/login.js';
import { run as status } from '../../src/commands/status.js';
import { startCloud, type Cloud, type Tamper } from '../cloud/index.js';
import { tempConfigDir } from '../helpers/cli.js';
import { testFactory, type TestFactory } from '../helpers/factory.js';
import { until, VirtualClock } from '../helpers/fakes.js';
import { approveDeviceOverHttp } from '../helpers/http-user.js';
import { expectDeviceCodeShown } from '../helpers/device-code.js';
import { startHostileServer } from '../hostile/hostile-server.js';

const tamper: Tamper & { devicePollErrors: string[] } = { devicePollErrors: [] };
let cloud: Cloud;
beforeAll(async () => { cloud = await startCloud({ tamper }); });
afterAll(async () => { await cloud?.stop(); });
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  tamper.devicePollErrors.length = 0;
  delete tamper.deviceInterval;
});

function world(o: { dir?: string; browserOpens?: boolean } = {}): TestFactory & { dir: string; clock: VirtualClock } {
  const config = tempConfigDir();
  cleanups.push(() => config.cleanup());
  const clock = new VirtualClock();
  return { ...testFactory({ dir: o.dir ?? config.dir, clock, browserOpens: o.browserOpens }), dir: o.dir ?? config.dir, clock };
}

const device = (over: Partial<LoginOptions> = {}): LoginOptions => ({ url: cloud.mcpUrl, deviceCode: true, browser: false, ...over });

/** The code and address the command printed. */
async function shown(w: TestFactory): Promise<{ userCode: string; verificationUri: string }> {
  await until(() => /and enter this code:\n {2}\S+/.test(w.stderr()) || /shows this code:\n {2}\S+/.test(w.stderr()));
  const m = /^ {2}(?<verificationUri>\S+)\nand enter this code:\n {2}(?<userCode>\S+)$/m.exec(w.stderr()) ?? /shows this code:\n {2}(?<userCode>\S+)\n.*\n {2}(?<verificationUri>\S+)$/m.exec(w.stderr());
  return m!.groups as { userCode: string; verificationUri: string };
}

describe('login --device-code', () => {
  it('prints the code and the address; approved, it signs in (a device registration, polls 5 s apart)', async () => {
    const w = world();
    const registrations = cloud.stats.registrations;
    const running = login(device(), w.f);
    const { userCode, verificationUri } = await shown(w);
    expectDeviceCodeShown(w.stderr(), cloud.issuer, { userCode, verificationUri });
    expect(await approveDeviceOverHttp(verificationUri, cloud.user, { userCode })).toMatchObject({ title: 'Device connected', ok: true });
    expect(await running).toBe(0);
    expect(w.stderr()).toContain(`✓ Signed in to ${cloud.mcpUrl}`);
    expect(w.opened).toEqual([]);
    expect(cloud.stats.registrations).toBe(registrations + 1);
    expect(new Set(w.clock.sleeps)).toEqual(new Set([5_000]));
    const s = testFactory({ dir: w.dir });
    await status({ url: cloud.mcpUrl, urlGiven: true, json: true }, s.f);
    expect(JSON.parse(s.stdout()).servers[0]).toMatchObject({ ok: true, refreshToken: { present: true }, issuer: cloud.issuer, client: { registration: 'dcr' } });
  });

  it('opens the address that carries the code; the device registration is reused, and replaced once the AS forgot it; --timeout bounds the wait (exit 5)', async () => {
    const w = world();
    const registrations = cloud.stats.registrations;
    const running = login(device({ browser: true }), w.f);
    const { userCode } = await shown(w);
    expect(w.opened).toEqual([`${cloud.issuer}/device?user_code=${userCode}`]);
    expect(w.stderr()).toContain(`A browser tab has been opened to sign in; check that it shows this code:\n  ${userCode}\n`);
    expect((await approveDeviceOverHttp(w.opened[0]!, cloud.user)).ok).toBe(true);
    expect(await running).toBe(0);
    expect(cloud.stats.registrations).toBe(registrations + 1);

    const again = world({ dir: w.dir });
    await expect(login(device({ timeout: 12 }), again.f)).rejects.toMatchObject({ code: 'OAUTH_SIGN_IN_TIMEOUT', exitCode: 5, message: expect.stringMatching(/the sign-in with the code \S+ was not approved within 12 s/) });
    expect(again.clock.sleeps).toEqual([5_000, 5_000, 2_000]); // polls at 5 and 10 s; the next would start after 12 s
    expect(cloud.stats.registrations).toBe(registrations + 1); // the cached device registration

    // An AS that forgot the cached registration (invalid_client): registered anew, once, and the code shown.
    const statePath = join(w.dir, 'state.json');
    const state = JSON.parse(readFileSync(statePath, 'utf8'));
    const key = `${cloud.issuer} ${cloud.mcpUrl} device`;
    expect(Object.keys(state.clients)).toEqual([key]);
    state.clients[key].clientId = 'forgotten-client-id';
    writeFileSync(statePath, JSON.stringify(state));
    const forgotten = world({ dir: w.dir });
    await expect(login(device({ timeout: 1 }), forgotten.f)).rejects.toMatchObject({ exitCode: 5 });
    expect(forgotten.stderr()).toContain('and enter this code:');
    expect(cloud.stats.registrations).toBe(registrations + 2);
    expect(JSON.parse(readFileSync(statePath, 'utf8')).clients[key].clientId).not.toBe('forgotten-client-id');
  });

  it('slow_down adds 5 s to the interval for this and every later poll (RFC 8628 §3.5)', async () => {
    const w = world();
    tamper.devicePollErrors.push('slow_down');
    const polls = cloud.devicePolls().length;
    const running = login(device({ debug: true }), w.f);
    const { userCode, verificationUri } = await shown(w);
    await until(() => cloud.devicePolls().length >= polls + 2); // the slow_down, then a pending one
    await approveDeviceOverHttp(verificationUri, cloud.user, { userCode });
    expect(await running).toBe(0);
    const answers = cloud.devicePolls().slice(polls).map((p) => p.answer);
    expect(answers[0]).toBe('slow_down');
    expect(answers.at(-1)).toBe('tokens');
    expect(w.clock.sleeps[0]).toBe(5_000);
    expect(new Set(w.clock.sleeps.slice(1))).toEqual(new Set([10_000]));
    expect(w.stderr()).toContain('asked to slow down: polling every 10 s from now on');
  });

  it('an interval under RFC 8628\'s 5 s default (0.001 s) is not followed: polls stay 5 s apart', async () => {
    const w = world();
    tamper.deviceInterval = 0.001;
    const running = login(device(), w.f);
    const { userCode, verificationUri } = await shown(w);
    await until(() => w.clock.sleeps.length >= 3);
    await approveDeviceOverHttp(verificationUri, cloud.user, { userCode });
    expect(await running).toBe(0);
    expect(new Set(w.clock.sleeps)).toEqual(new Set([5_000]));
  });

  it('a refused consent ends with exit 6; nothing is saved', async () => {
    const w = world();
    const running = login(device(), w.f);
    const { userCode, verificationUri } = await shown(w);
    expect(await approveDeviceOverHttp(verificationUri, cloud.user, { userCode, consent: 'deny' })).toMatchObject({ title: 'Sign-in cancelled', ok: false });
    await expect(running).rejects.toMatchObject({ code: 'OAUTH_ACCESS_DENIED', exitCode: 6, message: 'access was denied at the authorization server', hint: expect.stringMatching(/Run `.* login --url \S+ --device-code` again and choose Allow/) });
    expect(await status({ url: cloud.mcpUrl, urlGiven: true }, testFactory({ dir: w.dir }).f)).toBe(3);
  });

  it('expired_token ends with exit 5 and says to run it again', async () => {
    const w = world();
    tamper.devicePollErrors.push('expired_token');
    const running = login(device(), w.f);
    const { userCode } = await shown(w);
    await expect(running).rejects.toMatchObject({ code: 'OAUTH_DEVICE_CODE_EXPIRED', exitCode: 5, message: `the code ${userCode} expired before the sign-in was approved`, hint: expect.stringMatching(/Run `.* login --url \S+ --device-code` again for a new code\./) });
    expect(await status({ url: cloud.mcpUrl, urlGiven: true }, testFactory({ dir: w.dir }).f)).toBe(3);
  });

  it('an authorization server without the device grant: a clear error naming it, the paste flow suggested, exit 1', async () => {
    const w = world();
    const registrations = cloud.stats.registrations;
    const project = cloud.projectMcpUrl('demo-project');
    const error = await login(device({ url: project }), w.f).catch((e) => e);
    expect(error).toMatchObject({ code: 'OAUTH_DEVICE_FLOW_UNSUPPORTED', exitCode: 1, message: `the authorization server "${cloud.projectIssuer('demo-project')}" does not offer the device authorization grant (its metadata has no "device_authorization_endpoint")` });
    expect(error.hint).toContain(`login --url ${project} --no-browser\``);
    expect(w.opened).toEqual([]);
    expect(cloud.stats.registrations).toBe(registrations);
  });

  it('--device-code with a grant without a person, or with a fixed callback, is a usage error', async () => {
    const w = world();
    await expect(login(device({ clientCredentials: true, clientId: 'x' }), testFactory({ dir: w.dir, env: { APPWRITE_MCP_CLIENT_SECRET: 's' } }).f)).rejects.toMatchObject({ code: 'CLI_USAGE', message: expect.stringContaining('--device-code signs a person in') });
    await expect(login(device({ callbackPort: '8765' }), w.f)).rejects.toMatchObject({ code: 'CLI_USAGE', message: expect.stringContaining('--device-code uses no callback') });
  });

  it('a token endpoint that answers 503: one warning, polls backed off, and the wait still ends at --timeout (exit 5)', async () => {
    const bad = await startHostileServer({ deviceAuthorization: { device_code: 'dc', user_code: 'ABCD-EFGH', verification_uri: 'http://127.0.0.1:1/device', expires_in: 600, interval: 1 }, tokenStatus: 503 });
    cleanups.push(() => bad.stop());
    const w = world();
    await expect(login(device({ url: bad.mcpUrl, timeout: 60 }), w.f)).rejects.toMatchObject({ exitCode: 5, message: 'the sign-in with the code ABCD-EFGH was not approved within 60 s' });
    // interval 1 s → every 5 s at least; 503: backed off to 10, 15, 25 s (polls at 5, 15, 30, 55 s); the next would start after 60 s.
    expect(w.clock.sleeps).toEqual([5_000, 10_000, 15_000, 25_000, 5_000]);
    expect(bad.requests.filter((q) => q === 'POST /token')).toHaveLength(4);
    expect(w.stderr().match(/warning: the token endpoint \S+ answered HTTP 503; asking again in \d+ s/g)).toHaveLength(1);
  });
});
