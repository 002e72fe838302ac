// Sign-ins saved by appwrite-mcp 0.1 (state version 1): the whole token set in one secret-store
// entry, named by the record's `legacySecret`. Moved to the current layout on first read.
import { registerSecret, type Logger } from '../log.js';
import { tokensOf, tokenWrites } from './secret-parts.js';
import type { SecretStore } from './secrets.js';
import { updateState } from './state.js';
import type { SignIn, SignInRecord, Tokens } from './types.js';

/** Moves `record`'s legacy entry to the current layout; undefined when the entry is gone or not a token set. */
export async function migrateLegacySignIn(record: SignInRecord, store: SecretStore, dir: string, logger: Logger): Promise<SignIn | undefined> {
  const text = await store.read(record.legacySecret!);
  if (text === undefined) return undefined;
  const tokens = legacyTokens(text, record);
  if (!tokens) {
    logger.warn(`ignoring the saved sign-in for ${record.url}: its entry in ${store.describe()} is not a token set`);
    return undefined;
  }
  registerSecret(tokens.accessToken);
  registerSecret(tokens.refreshToken);
  const { changes, token } = tokenWrites(store, record.key, tokens, undefined);
  await store.write(changes);
  const migrated: SignInRecord = { ...record, token };
  delete migrated.legacySecret;
  await updateState(dir, logger, (s) => { s.signIns[record.key] = migrated; });
  await store.write([[record.legacySecret!, undefined]]).catch(() => {});
  logger.debug(`moved the saved sign-in for ${record.url} to the current layout`);
  return { record: migrated, tokens: tokensOf(token, tokens.accessToken) };
}

function legacyTokens(text: string, record: SignInRecord): Tokens | undefined {
  let legacy: { accessToken?: unknown; refreshToken?: unknown; expiresAt?: unknown; obtainedAt?: unknown; scope?: unknown; tokenType?: unknown };
  try {
    legacy = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof legacy.accessToken !== 'string') return undefined;
  return {
    accessToken: legacy.accessToken,
    refreshToken: typeof legacy.refreshToken === 'string' ? legacy.refreshToken : undefined,
    expiresAt: typeof legacy.expiresAt === 'number' ? legacy.expiresAt : record.token.expiresAt,
    obtainedAt: typeof legacy.obtainedAt === 'number' ? legacy.obtainedAt : record.token.obtainedAt,
    scopes: typeof legacy.scope === 'string' ? legacy.scope.split(/\s+/).filter(Boolean) : record.token.scopes,
    tokenType: typeof legacy.tokenType === 'string' ? legacy.tokenType : undefined,
  };
}
