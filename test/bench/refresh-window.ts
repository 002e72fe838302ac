// `npm run bench` (second part): how long refreshed tokens exist only in memory. A rotating AS
// spends the old refresh token the moment it answers; until the new one is durable, a copy killed
// there loses the sign-in. Measured with the real policy (StoredAuthorizer), the real store
// (SignIns) and the local cloud's real token endpoint, for each secret store this machine has:
//   answer → refresh token durable (the window that matters), answer → everything saved (state too).
import { join } from 'node:path';
import { refreshTokens } from '../../src/auth/tokens.js';
import { StoredAuthorizer } from '../../src/auth/stored-authorizer.js';
import { HttpClient } from '../../src/http/client.js';
import { silentLogger } from '../../src/log.js';
import { probeSecretService, sessionBusSocketPath } from '../../src/store/dbus-probe.js';
import { openNativeEntry, type KeychainEntry } from '../../src/store/keychain.js';
import { SignIns } from '../../src/store/sign-ins.js';
import type { SignInRecord, Tokens } from '../../src/store/types.js';
import { startCloud } from '../cloud/index.js';
import { tempConfigDir } from '../helpers/cli.js';
import { readStored } from '../helpers/stored.js';
import { signInOnce } from './sign-in.js';
import { summarize } from './stats.js';

const ROUNDS = Number(process.env.BENCH_REFRESH_ROUNDS ?? 40);
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

const cloud = await startCloud();
const signIn = await signInOnce(cloud, cloud.mcpUrl);
const rows: string[] = [];
try {
  let seed = (await readStored(signIn.configDir, cloud.mcpUrl))!;
  const socket = sessionBusSocketPath(process.env);
  const keychain = socket ? await probeSecretService(socket, AbortSignal.timeout(2000)).then(() => true, () => false) : false;
  for (const store of keychain ? (['keychain', 'file'] as const) : (['file'] as const)) {
    log(`refresh window: ${ROUNDS} refreshes with the ${store} store…`);
    const { row, next } = await measure(store, seed);
    rows.push(row);
    seed = next; // the refresh token rotated: the next store starts from the latest
  }
  if (!keychain) rows.push('| keychain | – | – | no Secret Service here (run inside `node test/with-keyring.mjs`) |');
} finally {
  signIn.cleanup();
  await cloud.stop();
}
process.stdout.write(`
### Refreshed tokens held only in memory (the window a killed copy could lose)

${ROUNDS} refreshes against the local cloud's token endpoint, each saved as the proxy saves it.
"answer" = the token endpoint's response parsed; "refresh token durable" = its secret-store write
returned; "all saved" = access token and state.json too. Target: the window stays in single-digit
milliseconds, with nothing but the write itself between the answer and the save.

| store | answer → refresh token durable p50 / p90 / max (ms) | answer → all saved p50 / p90 / max (ms) | note |
| --- | --- | --- | --- |
${rows.join('\n')}
`);

type Seed = NonNullable<Awaited<ReturnType<typeof readStored>>>;

async function measure(kind: 'keychain' | 'file', seed: Seed): Promise<{ row: string; next: Seed }> {
  const config = tempConfigDir();
  const http = new HttpClient();
  let answeredAt = 0;
  let refreshDurableAt = 0;
  let savedAt = 0;
  const durable: number[] = [];
  const saved: number[] = [];
  let next: Seed;
  try {
    // Timestamps the first write of each save: the refresh token's entry.
    const wrap = (entry: KeychainEntry): KeychainEntry => ({
      getPassword: (s) => entry.getPassword(s),
      deleteCredential: (s) => entry.deleteCredential(s),
      setPassword: async (v, s) => { await entry.setPassword(v, s); if (!refreshDurableAt) refreshDurableAt = performance.now(); },
    });
    const signIns = new SignIns({ dir: join(config.dir, 'c'), logger: silentLogger, storePreference: kind, keychain: { openEntry: async (s, a) => wrap(await openNativeEntry(s, a)) } });
    const save = signIns.records.saveRefresh.bind(signIns.records);
    signIns.records.saveRefresh = async (record: SignInRecord, tokens: Tokens, lease) => {
      const next = await save(record, tokens, lease);
      savedAt = performance.now();
      return next;
    };
    const target = { url: `${cloud.mcpUrl}#bench-${kind}-${process.pid}` };
    const record = await signIns.records.save({ target, resource: seed.record.resource, as: seed.record.as, client: seed.record.client, tokens: { accessToken: seed.accessToken!, refreshToken: seed.refreshToken, obtainedAt: Date.now(), expiresAt: seed.record.token.expiresAt, scopes: seed.record.token.scopes } }, await signIns.chooseStore());
    const ctx = { fetch: http.fetch, logger: silentLogger, requestTimeoutMs: 15_000 };
    const authorizer = new StoredAuthorizer({
      signIns, target, logger: silentLogger, allowBrowser: false, holdMs: 1000, signInTimeoutMs: 1000, browserCooldownMs: 1000,
      tokenEndpoint: {
        refresh: async (r, rt) => {
          const tokens = await refreshTokens(ctx, r, rt, undefined);
          answeredAt = performance.now();
          refreshDurableAt = 0;
          return tokens;
        },
        revoke: async () => 'unsupported',
      },
      signIn: () => Promise.reject(new Error('no browser in the bench')),
    });
    let token = await authorizer.getToken();
    for (let i = 0; i < ROUNDS; i++) {
      token = await authorizer.onUnauthorized(token, {});
      if (kind === 'file') refreshDurableAt = savedAt; // one atomic write holds both tokens
      durable.push(refreshDurableAt - answeredAt);
      saved.push(savedAt - answeredAt);
    }
    await authorizer.close();
    const latest = (await signIns.records.load(record.key))!;
    next = { record: latest.record, accessToken: latest.tokens!.accessToken, refreshToken: await signIns.records.refreshToken(latest.record) };
    await signIns.records.forget(latest.record);
  } finally {
    http.close();
    config.cleanup();
  }
  const d = summarize(durable);
  const s = summarize(saved);
  const f = (x: number) => x.toFixed(2);
  const note = kind === 'file' ? 'one atomic write of secrets.json' : 'refresh token entry first';
  return { row: `| ${kind} | ${f(d.p50)} / ${f(d.p90)} / ${f(d.max)} | ${f(s.p50)} / ${f(s.p90)} / ${f(s.max)} | ${note} |`, next };
}
