// Dependencies every command builds once: where state lives, the logger, HTTP, the sign-ins store.
import type { AuthContext } from '../auth/oauth.js';
import { HttpClient } from '../http/client.js';
import { createLogger, type Logger } from '../log.js';
import { configDir } from '../paths.js';
import type { StorePreference } from '../store/secrets.js';
import { SignIns } from '../store/sign-ins.js';

export interface CommonOptions {
  debug?: boolean;
  /** Warnings and errors only on stderr. */
  quiet?: boolean;
  store?: 'keychain' | 'file';
}

export interface CommandContext {
  logger: Logger;
  http: HttpClient;
  /** For the OAuth steps (discovery, registration, tokens, revocation). */
  ctx: AuthContext;
  signIns: SignIns;
}

/** Bound on each keychain call; APPWRITE_MCP_KEYCHAIN_TIMEOUT_MS overrides the 3 s default. */
export function keychainTimeoutMs(env: NodeJS.ProcessEnv): number {
  const n = Number(env.APPWRITE_MCP_KEYCHAIN_TIMEOUT_MS);
  return Number.isFinite(n) && n > 0 ? n : 3000;
}

/** `write`: where log lines go (default stderr; `login` routes them through its live view). */
export function createCommandContext(opts: CommonOptions, env: NodeJS.ProcessEnv = process.env, write?: (line: string) => void): CommandContext {
  const logger = createLogger({ debug: opts.debug || Boolean(env.APPWRITE_MCP_DEBUG), quiet: opts.quiet || Boolean(env.APPWRITE_MCP_QUIET), write });
  const http = new HttpClient(env);
  const storePreference: StorePreference = opts.store ?? (env.APPWRITE_MCP_STORE === 'file' || env.APPWRITE_MCP_STORE === 'keychain' ? env.APPWRITE_MCP_STORE : 'auto');
  const signIns = new SignIns({ dir: configDir(env), logger, storePreference, keychain: { timeoutMs: keychainTimeoutMs(env), env } });
  return { logger, http, ctx: { fetch: http.fetch, logger, requestTimeoutMs: 15_000 }, signIns };
}
