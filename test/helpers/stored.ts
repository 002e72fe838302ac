// Reads a sign-in back the way the CLI does (through src/store/sign-ins.ts), so tests check what
// is stored without knowing how it is laid out across state.json and the secret stores.
import { silentLogger } from '../../src/log.js';
import { SignIns, signInKey } from '../../src/store/sign-ins.js';
import type { SignInRecord, Target } from '../../src/store/types.js';

export interface Stored {
  record: SignInRecord;
  accessToken?: string;
  refreshToken?: string;
}

export function signInsAt(dir: string): SignIns {
  return new SignIns({ dir, logger: silentLogger, storePreference: 'auto', keychain: { timeoutMs: 3000 } });
}

export async function readStored(dir: string, target: Target | string): Promise<Stored | undefined> {
  const signIns = signInsAt(dir);
  const stored = await signIns.load(signInKey(typeof target === 'string' ? { url: target } : target));
  if (!stored) return undefined;
  return { record: stored.record, accessToken: stored.tokens?.accessToken, refreshToken: await signIns.refreshToken(stored.record) };
}
