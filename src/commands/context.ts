// Dependencies every command builds once: where state lives, the logger, the auth context.
import { configDir } from '../paths.js';
import { createFetch } from '../fetch.js';
import { createLogger, type Logger } from '../log.js';
import type { AuthContext } from '../auth/http.js';
import type { SignInDeps, StorePreference } from '../auth/sign-in.js';

export interface CommonOptions {
  debug?: boolean;
  store?: 'keychain' | 'file';
}

export interface CommandContext {
  dir: string;
  logger: Logger;
  ctx: AuthContext;
  signInDeps: SignInDeps;
}

export function keychainTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.APPWRITE_MCP_KEYCHAIN_TIMEOUT_MS);
  return Number.isFinite(n) && n > 0 ? n : 3000;
}

export function createCommandContext(opts: CommonOptions, env: NodeJS.ProcessEnv = process.env): CommandContext {
  const dir = configDir(env);
  const logger = createLogger({ debug: opts.debug || Boolean(env.APPWRITE_MCP_DEBUG) });
  const ctx: AuthContext = { fetch: createFetch(env), logger, requestTimeoutMs: 15_000 };
  const storePreference: StorePreference = opts.store ?? (env.APPWRITE_MCP_STORE === 'file' || env.APPWRITE_MCP_STORE === 'keychain' ? env.APPWRITE_MCP_STORE : 'auto');
  return { dir, logger, ctx, signInDeps: { ctx, dir, storePreference, keychainTimeoutMs: keychainTimeoutMs(env) } };
}
