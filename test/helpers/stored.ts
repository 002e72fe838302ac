// Reads a sign-in back the way the CLI does (through src/store/sign-ins.ts), so tests check what
// is stored without knowing how it is laid out across state.json and the secret stores.
import { silentLogger } from '../../src/log.js';
import { SignIns, signInKey } from '../../src/store/sign-ins.js';
import type { SignInRecord, Target } from '../../src/store/types.js';
import type { FakeKeychain } from './fakes.js';

export interface Stored {
  record: SignInRecord;
  accessToken?: string;
  refreshToken?: string;
}

/** The sign-ins in `dir`; `keychain`: an in-memory stand-in for the OS keychain (tests/helpers/fakes.ts). */
export function signInsAt(dir: string, storePreference: 'auto' | 'file' | 'keychain' = 'auto', keychain?: FakeKeychain): SignIns {
  return new SignIns({ dir, logger: silentLogger, storePreference, keychain: keychain ? { openEntry: keychain.openEntry, timeoutMs: 200 } : { timeoutMs: 3000 } });
}

export async function readStored(dir: string, target: Target | string, keychain?: FakeKeychain): Promise<Stored | undefined> {
  const signIns = signInsAt(dir, 'auto', keychain);
  const stored = await signIns.records.load(signInKey(typeof target === 'string' ? { url: target } : target));
  if (!stored) return undefined;
  return { record: stored.record, accessToken: stored.tokens?.accessToken, refreshToken: await signIns.records.refreshToken(stored.record) };
}

/** Revokes the stored access or refresh token at the AS (RFC 7009), behind the CLI's back. */
export async function revokeStored(dir: string, url: string, hint: 'access_token' | 'refresh_token'): Promise<Stored> {
  const stored = (await readStored(dir, url))!;
  const token = hint === 'access_token' ? stored.accessToken : stored.refreshToken;
  const res = await fetch(stored.record.as.revocation_endpoint!, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: token!, token_type_hint: hint, client_id: stored.record.client.clientId }),
  });
  if (res.status !== 200) throw new Error(`revocation answered ${res.status}`);
  return stored;
}
