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
import { Keychain } from '../../src/store/keychain.js';
import { FileSecretStore, KEYCHAIN_SERVICE, KeychainSecretStore } from '../../src/store/secrets.js';
import { AppError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
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

  it('round-trips a value (write, read from a new instance and via secret-tool, delete)', async () => {
    const name = `https://mcp.example/${process.pid}-${Date.now()} access`;
    const value = 'kc-access-token-123';
    const store = new KeychainSecretStore({ timeoutMs: 3000 });
    cleanups.push(() => store.write([[name, undefined]]));
    expect(store.describe()).toBe('OS keychain (Secret Service), service "appwrite-mcp"');
    expect(await store.read(name)).toBeUndefined();

    const started = performance.now();
    await store.probe();
    console.info(`keychain probe (success): ${(performance.now() - started).toFixed(1)} ms`);
    await store.write([[name, value]]);
    expect(await new KeychainSecretStore().read(name)).toBe(value);
    // keyring-rs names the attribute "username", not "account".
    const { stdout } = await promisify(execFile)('secret-tool', ['lookup', 'service', KEYCHAIN_SERVICE, 'username', name]);
    expect(stdout).toBe(value);

    await store.write([[name, undefined]]);
    expect(await new KeychainSecretStore().read(name)).toBeUndefined();
    await store.write([[name, undefined]]); // deleting what is not there is fine
  });

  it('is chosen by openSecretStore({ prefer: "auto" }) without a warning', async () => {
    const dir = await tempDir();
    const run = await runFixture('open-store', [dir, 'auto', '3000']);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({ kind: 'keychain', warnings: [] });
    await new KeychainSecretStore().write([['k', undefined]]);
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
    expect(result.back).toBe('file-secret-1');
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, 'secrets.json'))).mode & 0o777).toBe(0o600);
    console.info(`keychain probe (no bus) + file fallback: ${result.ms.toFixed(1)} ms`);
  });

  it('prefer "keychain" fails with a clear keychain_unavailable error', async () => {
    const run = await runFixture('open-store', [await tempDir(), 'keychain', '3000'], { env: noBus });
    const { error } = JSON.parse(run.stdout);
    expect(error).toMatchObject({ name: 'AppError', code: 'STORE_KEYCHAIN_UNAVAILABLE' });
    expect(error.message).toMatch(/no Secret Service on D-Bus.*\/nonexistent/);
  });

  it('a keychain that never answers is cut off by the timeout', async () => {
    const dir = await tempDir();
    const socketPath = join(dir, 'silent-bus.sock');
    const connections: Socket[] = [];
    const server = createServer((c) => { connections.push(c); }); // accepts, never answers
    await new Promise<void>((r) => server.listen(socketPath, r));
    cleanups.push(() => { connections.forEach((c) => c.destroy()); return new Promise((r) => server.close(r)); });

    const run = await runFixture('open-store', [join(dir, 'config'), 'keychain', '400'], { env: { DBUS_SESSION_BUS_ADDRESS: `unix:path=${socketPath}` }, killAfterMs: 20_000 });
    expect(run.signal, 'the child froze instead of timing out').toBeNull();
    const { error, ms } = JSON.parse(run.stdout);
    expect(error).toMatchObject({ code: 'STORE_KEYCHAIN_TIMEOUT', message: expect.stringMatching(/did not answer within 0.4 s/) });
    expect(ms).toBeGreaterThanOrEqual(390);
    expect(ms).toBeLessThan(1000);
    expect(connections.length).toBeGreaterThan(0);
  });

  it('the Keychain wrapper itself times out in-process too', async () => {
    const keychain = new Keychain({ service: KEYCHAIN_SERVICE, timeoutMs: 50, platform: 'linux', env: { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent' } });
    await expect(keychain.get('x')).rejects.toBeInstanceOf(AppError);
  });
});

describe('FileSecretStore', () => {
  it('stores a map of values, deletes, and tightens loose permissions', async () => {
    const dir = join(await tempDir(), 'cfg');
    const warnings: string[] = [];
    const logger = { debugEnabled: false, debug() {}, info() {}, error() {}, warn: (m: string) => { warnings.push(m); } };
    const store = new FileSecretStore(dir, logger);
    await store.write([['a', 'file-access-a-123'], ['b', 'file-access-b-123']]);
    expect(await new FileSecretStore(dir, silentLogger).read('a')).toBe('file-access-a-123');
    await store.write([['a', undefined]]);
    expect(await store.read('a')).toBeUndefined();
    expect(await store.read('b')).toBe('file-access-b-123');
    await chmod(store.path, 0o644);
    await chmod(dir, 0o755);
    await store.write([['c', 'file-access-c-123']]);
    expect((await stat(store.path)).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect(warnings.join('\n')).toMatch(/mode 0755/);
  });

  it('refuses a corrupt secrets file with a message naming it', async () => {
    const dir = await tempDir();
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'secrets.json'), 'nope');
    await expect(new FileSecretStore(dir, silentLogger).read('a')).rejects.toThrow(/secrets\.json is not valid JSON/);
  });
});
