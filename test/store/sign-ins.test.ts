// The one home of sign-ins: how a sign-in is split between state.json and the secret store, and
// the guarantees that split must keep (keychain entries under the Windows cap, the refresh token
// written first, a torn write detected, headers keying the sign-in, 0.1 sign-ins carried over).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuthorizationServer } from 'oauth4webapi';
import { AppError } from '../../src/errors.js';
import { createLogger, redact } from '../../src/log.js';
import { probeSecretService, sessionBusSocketPath } from '../../src/store/dbus-probe.js';
import { KeychainSecretStore } from '../../src/store/secrets.js';
import { SignIns, signInKey } from '../../src/store/sign-ins.js';
import type { NewSignIn } from '../../src/store/sign-ins.js';
import type { Tokens } from '../../src/store/types.js';
import { FakeKeychain } from '../helpers/fakes.js';
import { makeTempDir } from './helpers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); });
async function tempDir() { const t = await makeTempDir(); cleanups.push(t.cleanup); return join(t.dir, 'config'); }

const URL_ = 'https://mcp.appwrite.io/';
const ISSUER = 'https://cloud.appwrite.io/v1/oauth2/console';
const AS: AuthorizationServer = {
  issuer: ISSUER,
  authorization_endpoint: `${ISSUER}/authorize`,
  token_endpoint: `${ISSUER}/token`,
  revocation_endpoint: `${ISSUER}/revoke`,
  code_challenge_methods_supported: ['S256'],
};

/** About 70 fine-grained scopes, as Appwrite's AS advertises (~1,500 characters). */
const APPWRITE_SCOPES = Array.from({ length: 72 }, (_, i) => `${['databases', 'collections', 'documents', 'users', 'teams', 'functions', 'storage', 'buckets', 'messaging'][i % 9]}.${i % 2 ? 'read' : 'write'}.${i}`);

/** A JWT the size of an Appwrite access token carrying that scope claim (~2.3 KB). */
function appwriteSizedJwt(seed: string): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const header = b64({ alg: 'RS256', typ: 'at+jwt', kid: 'console-key-1' });
  const payload = b64({ iss: ISSUER, sub: '6543a1b2c3d4e5f6a7b8', aud: URL_, iat: 1_790_000_000, exp: 1_790_003_600, jti: seed, client_id: 'mcp-client-0123456789', scope: APPWRITE_SCOPES.join(' ') });
  return `${header}.${payload}.${Buffer.alloc(256, seed).toString('base64url')}`;
}

function tokens(seed: string, over: Partial<Tokens> = {}): Tokens {
  return { accessToken: appwriteSizedJwt(seed), refreshToken: `rt-${seed}-${'r'.repeat(60)}`, expiresAt: Date.now() + 3_600_000, obtainedAt: Date.now(), scopes: APPWRITE_SCOPES, ...over };
}

function recordingLogger() {
  const lines: string[] = [];
  return { lines, logger: createLogger({ debug: true, write: (l) => void lines.push(l) }) };
}

async function fakeSignIns(dir: string, keychain = new FakeKeychain()) {
  const { lines, logger } = recordingLogger();
  const signIns = new SignIns({ dir, logger, storePreference: 'keychain', keychain: { openEntry: keychain.openEntry, timeoutMs: 200 } });
  return { signIns, keychain, lines, store: await signIns.chooseStore() };
}

function newSignIn(t: Tokens, target = { url: URL_ } as NewSignIn['target']): NewSignIn {
  return { target, resource: URL_, as: AS, client: { issuer: ISSUER, clientId: 'mcp-client-0123456789', method: 'dcr', redirectUris: ['http://127.0.0.1:5000/callback'], registeredAt: 1 }, tokens: t };
}

describe('SignIns', () => {
  it('keeps Appwrite-sized tokens in keychain entries that fit Windows Credential Manager (2,560 bytes as UTF-16)', async () => {
    const { signIns, keychain, store } = await fakeSignIns(await tempDir());
    const t = tokens('a');
    expect(t.accessToken.length).toBeGreaterThan(2_000);
    const record = await signIns.records.save(newSignIn(t), store);
    expect(record.token.parts).toBeGreaterThanOrEqual(3);
    for (const [account, value] of keychain.values) {
      expect(value.length, account).toBeLessThanOrEqual(1000);
      expect(Buffer.byteLength(value, 'utf16le'), account).toBeLessThanOrEqual(2560 - 512);
    }
    // Only secrets in the keychain: the ~1,500 characters of scopes live in state.json.
    expect([...keychain.values.values()].join('')).not.toContain(APPWRITE_SCOPES[0]);
    const loaded = (await signIns.records.load(record.key))!;
    expect(loaded.tokens).toMatchObject({ accessToken: t.accessToken, expiresAt: t.expiresAt, scopes: APPWRITE_SCOPES });
    expect(await signIns.records.refreshToken(record)).toBe(t.refreshToken);
    expect(redact(`x ${t.refreshToken} y`)).toBe('x [redacted] y');
  });

  it('writes the refresh token first, then the access token, then state.json; removes a stale tail', async () => {
    const dir = await tempDir();
    const { signIns, keychain, store } = await fakeSignIns(dir);
    const first = await signIns.records.save(newSignIn(tokens('b')), store);
    keychain.log.length = 0;
    const shorter: Tokens = { ...tokens('c'), accessToken: 'short-access-token-c' };
    const saved = await signIns.records.saveRefresh(first, shorter);
    expect(keychain.log[0]).toEqual([`${URL_} refresh`, expect.stringContaining(shorter.refreshToken!)]);
    expect(keychain.log[1]).toEqual([`${URL_} access`, expect.stringContaining('short-access-token-c')]);
    // the old token's second and third parts are deleted
    expect(keychain.log.slice(2).map(([name, v]) => [name, v])).toEqual([[`${URL_} access (2)`, undefined], [`${URL_} access (3)`, undefined]]);
    expect(saved.token.parts).toBe(1);
    expect((await signIns.records.load(first.key))!.tokens!.accessToken).toBe('short-access-token-c');
    expect(JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')).signIns[URL_].token.fingerprint).toBe(saved.token.fingerprint);
  });

  it('detects a torn write (parts of two tokens, or a token that does not match its record) and asks for a refresh', async () => {
    const { signIns, keychain, store } = await fakeSignIns(await tempDir());
    const record = await signIns.records.save(newSignIn(tokens('d')), store);
    // Part 2 from another token: same names, different fingerprint.
    const stray = new FakeKeychain();
    const { signIns: elsewhere, store: strayStore } = await fakeSignIns(await tempDir(), stray);
    await elsewhere.records.save(newSignIn(tokens('e')), strayStore);
    keychain.values.set(`${URL_} access (2)`, stray.values.get(`${URL_} access (2)`)!);
    expect(await signIns.records.load(record.key)).toEqual({ record: expect.objectContaining({ key: record.key }) });
    expect((await signIns.records.load(record.key))!.tokens).toBeUndefined();
    // The refresh token is intact and still usable.
    expect(await signIns.records.refreshToken(record)).toBe(tokens('d').refreshToken);
  });

  it('keys a sign-in by URL, profile and headers; header values are never stored', async () => {
    const dir = await tempDir();
    const { signIns, store } = await fakeSignIns(dir);
    const a = { url: URL_, headers: { 'X-Appwrite-Project': 'alpha-secret-value' } };
    const b = { url: URL_, headers: { 'x-appwrite-project': 'beta-secret-value' } };
    expect(signInKey(a)).not.toBe(signInKey(b));
    expect(signInKey({ url: URL_ })).toBe(URL_);
    expect(signInKey({ url: URL_, headers: { B: '2', A: '1' } })).toBe(signInKey({ url: URL_, headers: { a: '1', b: '2' } }));
    expect(signInKey({ url: URL_, profile: 'work' })).not.toBe(signInKey({ url: URL_ }));
    await signIns.records.save(newSignIn(tokens('f'), a), store);
    await signIns.records.save(newSignIn(tokens('g'), b), store);
    expect((await signIns.records.load(signInKey(a)))!.tokens!.accessToken).toBe(tokens('f').accessToken);
    expect((await signIns.records.load(signInKey(b)))!.tokens!.accessToken).toBe(tokens('g').accessToken);
    expect(await signIns.records.load(URL_)).toBeUndefined();
    const state = await readFile(join(dir, 'state.json'), 'utf8');
    expect(state).not.toContain('secret-value');
    expect((await signIns.records.list()).map((r) => r.headerNames)).toEqual([['X-Appwrite-Project'], ['x-appwrite-project']].sort());
  });

  it('forgets a sign-in: every entry and the record; keeps the record when the keychain cannot delete', async () => {
    const { signIns, keychain, store } = await fakeSignIns(await tempDir());
    const record = await signIns.records.save(newSignIn(tokens('h')), store);
    keychain.writes = 'fail';
    await expect(signIns.records.forget(record)).rejects.toMatchObject({ code: 'STORE_KEYCHAIN_FAILED' });
    expect(await signIns.records.record(record.key)).toBeDefined();
    keychain.writes = 'ok';
    expect(await signIns.records.forget(record)).toEqual({ deleted: true });
    expect(keychain.values.size).toBe(0);
    expect(await signIns.records.record(record.key)).toBeUndefined();
    expect(await signIns.records.forget(record)).toEqual({ deleted: false });
  });

  it('caches a browser and a device registration per issuer and server apart, each with its own secret; logout --all forgets both', async () => {
    const { signIns, keychain } = await fakeSignIns(await tempDir());
    const browserClient = { issuer: ISSUER, clientId: 'browser-client', method: 'dcr' as const, redirectUris: ['http://127.0.0.1:5000/callback'], registeredAt: 1, authMethod: 'client_secret_basic' as const };
    const deviceClient = { issuer: ISSUER, clientId: 'device-client', method: 'dcr' as const, redirectUris: [], registeredAt: 2, authMethod: 'client_secret_basic' as const, grantTypes: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'] };
    const browser = { issuer: ISSUER, resource: URL_ };
    const device = { issuer: ISSUER, resource: URL_, purpose: 'device' as const };
    await signIns.registrations.save(browser, browserClient, 'browser-secret');
    await signIns.registrations.save(device, deviceClient, 'device-secret');
    expect(await signIns.registrations.cached(browser)).toMatchObject({ client: { clientId: 'browser-client' }, secret: 'browser-secret' });
    expect(await signIns.registrations.cached(device)).toMatchObject({ client: { clientId: 'device-client', grantTypes: deviceClient.grantTypes }, secret: 'device-secret' });
    // Another MCP server naming the same AS does not get them.
    expect(await signIns.registrations.cached({ issuer: ISSUER, resource: 'https://other.example/mcp' })).toBeUndefined();
    // Forgetting one (the AS no longer knows it) leaves the other.
    await signIns.registrations.forget(device, 'device-client');
    expect(await signIns.registrations.cached(device)).toBeUndefined();
    expect(await signIns.registrations.cached(browser)).toMatchObject({ secret: 'browser-secret' });
    await signIns.registrations.save(device, deviceClient, 'device-secret');
    await signIns.registrations.forgetAll();
    expect(await signIns.registrations.cached(browser)).toBeUndefined();
    expect(await signIns.registrations.cached(device)).toBeUndefined();
    expect([...keychain.values.values()].join(' ')).not.toMatch(/browser-secret|device-secret/);
  });

  it('a registration cached per issuer by appwrite-mcp 0.1 still serves the server it signed in to, and no other', async () => {
    const dir = await tempDir();
    const { signIns, store } = await fakeSignIns(dir);
    await signIns.records.save(newSignIn(tokens('a')), store);
    const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8'));
    state.clients[ISSUER] = { issuer: ISSUER, clientId: 'mcp-client-0123456789', method: 'dcr', redirectUris: ['http://127.0.0.1:5000/callback'], registeredAt: 1 };
    await writeFile(join(dir, 'state.json'), JSON.stringify(state));
    expect(await signIns.registrations.cached({ issuer: ISSUER, resource: URL_ })).toMatchObject({ client: { clientId: 'mcp-client-0123456789' } });
    expect(await signIns.registrations.cached({ issuer: ISSUER, resource: 'https://other.example/mcp' })).toBeUndefined();
  });

  it('a save that fails names where, with code save_failed', async () => {
    const { signIns, keychain, store } = await fakeSignIns(await tempDir());
    const record = await signIns.records.save(newSignIn(tokens('i')), store);
    keychain.writes = 'hang';
    const error = await signIns.records.saveRefresh(record, tokens('j')).catch((e: AppError) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'STORE_SAVE_FAILED' });
    expect((error as AppError).message).toMatch(/could not save the refreshed sign-in to OS keychain .*did not answer within 0.2 s/);
  });

  it('shows the user what happened to a corrupt state file (the warning is not swallowed)', async () => {
    const dir = await tempDir();
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'state.json'), '{"version": 2, "signIns": {');
    const { signIns, lines } = await fakeSignIns(dir);
    expect(await signIns.records.list()).toEqual([]);
    expect(lines.join('')).toMatch(/warning: ignoring .*state\.json because it is not valid JSON.*moved it to .*state\.json\.corrupt-/);
  });

  it('carries over a sign-in saved by appwrite-mcp 0.1 (state version 1, one JSON entry) on first read', async () => {
    const dir = await tempDir();
    await mkdir(dir, { recursive: true });
    const legacyKey = `${URL_} @ ${ISSUER}`;
    const old = tokens('k');
    const keychain = new FakeKeychain();
    keychain.values.set(legacyKey, JSON.stringify({ accessToken: old.accessToken, refreshToken: old.refreshToken, expiresAt: old.expiresAt, obtainedAt: old.obtainedAt, idToken: 'id-token-kkkkkkkk', scope: 'a b' }));
    await writeFile(join(dir, 'state.json'), JSON.stringify({
      version: 1,
      servers: { [URL_]: { url: URL_, resource: URL_, issuer: ISSUER, as: { issuer: ISSUER, authorizationEndpoint: `${ISSUER}/authorize`, tokenEndpoint: `${ISSUER}/token`, revocationEndpoint: `${ISSUER}/revoke` }, clientId: 'c-1', registration: 'dcr', scopes: ['a', 'b'], expiresAt: old.expiresAt, hasRefreshToken: true, account: { email: 'dev@example.com' }, secretStore: 'keychain', secretKey: legacyKey, signedInAt: 1, updatedAt: 2 } },
      clients: { [ISSUER]: { issuer: ISSUER, clientId: 'c-1', method: 'dcr', redirectUris: ['http://127.0.0.1:5000/callback'], registeredAt: 1 } },
    }));
    const { signIns } = await fakeSignIns(dir, keychain);
    const loaded = (await signIns.records.load(URL_))!;
    expect(loaded.tokens).toMatchObject({ accessToken: old.accessToken, scopes: ['a', 'b'] });
    expect(loaded.record).toMatchObject({ account: { email: 'dev@example.com' }, client: { clientId: 'c-1' }, as: { token_endpoint: `${ISSUER}/token`, revocation_endpoint: `${ISSUER}/revoke` } });
    expect(await signIns.records.refreshToken(loaded.record)).toBe(old.refreshToken);
    expect(keychain.values.has(legacyKey)).toBe(false);
    expect([...keychain.values.values()].join('')).not.toContain('id-token-kkkkkkkk'); // the ID token is not kept
    const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8'));
    expect(state.version).toBe(2);
    expect(state.signIns[URL_].legacySecret).toBeUndefined();
  });
});

const socket = sessionBusSocketPath(process.env);
const secretService = socket ? await probeSecretService(socket, AbortSignal.timeout(2000)).then(() => true, () => false) : false;

describe.runIf(secretService || process.env.APPWRITE_MCP_REQUIRE_KEYCHAIN === '1')('SignIns on the real Secret Service', () => {
  it('round-trips Appwrite-sized tokens in entries of at most 1,000 characters', async () => {
    const dir = await tempDir();
    const url = `https://mcp.example/${process.pid}-${Date.now()}/`;
    const signIns = new SignIns({ dir, logger: recordingLogger().logger, storePreference: 'keychain' });
    const t = tokens('real');
    const record = await signIns.records.save(newSignIn(t, { url }), await signIns.chooseStore());
    cleanups.push(() => signIns.records.forget(record).catch(() => {}));
    const keychain = new KeychainSecretStore();
    const parts = await Promise.all([`${url} access`, `${url} access (2)`, `${url} access (3)`, `${url} refresh`].map((n) => keychain.read(n)));
    for (const part of parts) expect(part!.length).toBeLessThanOrEqual(1000);
    expect((await new SignIns({ dir, logger: recordingLogger().logger, storePreference: 'keychain' }).records.load(record.key))!.tokens!.accessToken).toBe(t.accessToken);
  });
});
