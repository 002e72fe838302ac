// Keychain tests need a reachable Secret Service; run them inside
//   dbus-run-session -- sh -c 'echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; npx vitest run test/store'
// With APPWRITE_MCP_REQUIRE_KEYCHAIN=1 (CI) a missing Secret Service fails them instead of skipping them.
import { execFile } from 'node:child_process';
import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { probeSecretService, sessionBusSocketPath } from '../../src/store/dbus-probe.js';
import { Keychain, KeychainUnavailableError } from '../../src/store/keychain.js';
import { FileSecretStore, KEYCHAIN_SERVICE, KeychainSecretStore, openSecretStore, secretKeyFor } from '../../src/store/secrets.js';
import { redact } from '../../src/log.js';
import { makeTempDir, runFixture } from './helpers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); });
async function tempDir() { const t = await makeTempDir(); cleanups.push(t.cleanup); return t.dir; }

async function secretServiceReachable(): Promise<boolean> {
  const socket = sessionBusSocketPath(process.env);
  if (!socket) return false;
  return probeSecretService(socket, AbortSignal.timeout(2000)).then(() => true, () => false);
}
const keychainRequired = process.env.APPWRITE_MCP_REQUIRE_KEYCHAIN === '1';
const keychainReachable = await secretServiceReachable();

describe.runIf(keychainReachable || keychainRequired)('KeychainSecretStore against a real Secret Service', () => {
  it('has a Secret Service to talk to', () => {
    expect(keychainReachable, 'APPWRITE_MCP_REQUIRE_KEYCHAIN=1 but no Secret Service answers on the D-Bus session bus').toBe(true);
  });

  it('round-trips a token set (set, get from a new instance and via secret-tool, delete)', async () => {
    const key = secretKeyFor(`https://mcp.example/${process.pid}-${Date.now()}`, 'https://as.example');
    const tokens = { accessToken: 'kc-access-token-123', refreshToken: 'kc-refresh-token-456', expiresAt: 1_900_000_000_000, scope: 'a b' };
    const store = new KeychainSecretStore({ timeoutMs: 3000 });
    cleanups.push(() => store.delete(key));
    expect(store.describe()).toBe('OS keychain (Secret Service), service "appwrite-mcp"');
    expect(await store.get(key)).toBeUndefined();

    const started = performance.now();
    await store.probe();
    console.info(`keychain probe (success): ${(performance.now() - started).toFixed(1)} ms`);
    await store.set(key, tokens);
    expect(await new KeychainSecretStore().get(key)).toEqual(tokens);
    // keyring-rs names the attribute "username", not "account".
    const { stdout } = await promisify(execFile)('secret-tool', ['lookup', 'service', KEYCHAIN_SERVICE, 'username', key]);
    expect(JSON.parse(stdout)).toEqual(tokens);
    expect(redact(`got ${tokens.refreshToken}`)).toBe('got [redacted]');

    expect(await store.delete(key)).toBe(true);
    expect(await store.delete(key)).toBe(false);
    expect(await new KeychainSecretStore().get(key)).toBeUndefined();
  });

  it('is chosen by openSecretStore({ prefer: "auto" }) without a warning', async () => {
    const dir = await tempDir();
    const run = await runFixture('open-store', [dir, 'auto', '3000']);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({ kind: 'keychain', warnings: [] });
    await new KeychainSecretStore().delete('k');
  });
});

describe('without a Secret Service', () => {
  const noBus = { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent' };

  it('auto falls back to a 0600 file quickly, with a loud warning', async () => {
    const dir = join(await tempDir(), 'config');
    const run = await runFixture('open-store', [dir, 'auto', '3000'], { env: noBus });
    const result = JSON.parse(run.stdout);
    expect(result.kind).toBe('file');
    expect(result.ms).toBeLessThan(500);
    expect(result.describe).toBe(`file ${join(dir, 'secrets.json')} (mode 0600)`);
    expect(result.warnings.join('\n')).toMatch(/KEYCHAIN IS NOT USABLE: no Secret Service on D-Bus[\s\S]*secrets\.json[\s\S]*--store file/);
    expect(result.back).toEqual({ accessToken: 'file-access-token-1', refreshToken: 'file-refresh-token-1' });
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, 'secrets.json'))).mode & 0o777).toBe(0o600);
    console.info(`keychain probe (no bus) + file fallback: ${result.ms.toFixed(1)} ms`);
  });

  it('prefer "keychain" fails with a clear KeychainUnavailableError', async () => {
    const run = await runFixture('open-store', [await tempDir(), 'keychain', '3000'], { env: noBus });
    const { error } = JSON.parse(run.stdout);
    expect(error).toMatchObject({ name: 'KeychainUnavailableError', code: 'KEYCHAIN_NO_SERVICE' });
    expect(error.message).toMatch(/no Secret Service on D-Bus.*\/nonexistent/);
  });

  it('a keychain that never answers is cut off by the timeout', async () => {
    const dir = await tempDir();
    const socketPath = join(dir, 'silent-bus.sock');
    const connections: Socket[] = [];
    const server = createServer((c) => { connections.push(c); }); // accepts, never answers
    await new Promise<void>((r) => server.listen(socketPath, r));
    cleanups.push(() => { connections.forEach((c) => c.destroy()); return new Promise((r) => server.close(r)); });

    const run = await runFixture('open-store', [join(dir, 'config'), 'keychain', '400'], { env: { DBUS_SESSION_BUS_ADDRESS: `unix:path=${socketPath}` }, killAfterMs: 5000 });
    expect(run.signal, 'the child froze instead of timing out').toBeNull();
    const { error, ms } = JSON.parse(run.stdout);
    expect(error).toMatchObject({ code: 'KEYCHAIN_TIMEOUT', message: expect.stringMatching(/did not answer within 0.4 s/) });
    expect(ms).toBeGreaterThanOrEqual(390);
    expect(ms).toBeLessThan(1000);
    expect(connections.length).toBeGreaterThan(0);
  });

  it('the Keychain wrapper itself times out in-process too', async () => {
    const keychain = new Keychain({ service: KEYCHAIN_SERVICE, timeoutMs: 50, platform: 'linux', env: { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent' } });
    await expect(keychain.get('x')).rejects.toBeInstanceOf(KeychainUnavailableError);
  });
});

describe('FileSecretStore', () => {
  it('stores a map of token sets, deletes, and tightens loose permissions', async () => {
    const dir = join(await tempDir(), 'cfg');
    const warnings: string[] = [];
    const logger = { debugEnabled: false, debug() {}, info() {}, error() {}, warn: (m: string) => { warnings.push(m); } };
    const store = new FileSecretStore({ dir, logger });
    await store.set('a', { accessToken: 'file-access-a-123' });
    await store.set('b', { accessToken: 'file-access-b-123' });
    expect(await new FileSecretStore({ dir }).get('a')).toEqual({ accessToken: 'file-access-a-123' });
    expect(await store.delete('a')).toBe(true);
    expect(await store.delete('a')).toBe(false);
    expect(await store.get('b')).toEqual({ accessToken: 'file-access-b-123' });
    await chmod(store.path, 0o644);
    await chmod(dir, 0o755);
    await store.set('c', { accessToken: 'file-access-c-123' });
    expect((await stat(store.path)).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect(warnings.join('\n')).toMatch(/mode 0755/);
  });

  it('refuses a corrupt secrets file with a message naming it', async () => {
    const dir = await tempDir();
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'secrets.json'), 'nope');
    await expect(new FileSecretStore({ dir }).get('a')).rejects.toThrow(/secrets\.json is not valid JSON/);
  });
});
