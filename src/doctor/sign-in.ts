// Doctor, part 5: this server's stored sign-in. Present and readable; its access token accepted by
// the server (a real `initialize` with it); and a refresh possible. A refresh token is only spent
// when the access token cannot be used as it is (rejected or expired), and then by the proxy's own
// StoredAuthorizer: under the sign-in's cross-process lock, saved through SignIns.saveRefresh before
// the lock is released (a rotating refresh token may be spent once).
import type { BearerChallenge } from '../authorization.js';
import { probeServer } from '../auth/discovery.js';
import type { AuthContext } from '../auth/oauth.js';
import { describeAccount, describeExpiry } from '../commands/describe.js';
import { AppError, Code, errorMessage, isAppError } from '../errors.js';
import { registerSecret, type Logger } from '../log.js';
import { signInKey, type SignIns, type StoredSignIn } from '../store/sign-ins.js';
import type { SignInRecord, Target } from '../store/types.js';
import { deadline, fail, ok, skip, warn, type CheckResult } from './report.js';
import type { ServerFacts } from './server.js';

export interface SignInCheckOptions {
  target: Target;
  signIns: SignIns;
  ctx: AuthContext;
  logger: Logger;
  server: ServerFacts;
  /** The keychain round trip worked (a refreshed sign-in can be saved there). */
  keychainWorks: boolean;
  /** APPWRITE_MCP_TOKEN, which the proxy uses as is. */
  envToken?: string;
  /** `appwrite-mcp login …` for this server. */
  login: string;
  /** Bound on reading the secrets. */
  timeoutMs: number;
  now?: () => number;
}

export async function checkSignIn(o: SignInCheckOptions, record: SignInRecord | undefined, report: (r: CheckResult) => void): Promise<void> {
  const now = o.now ?? Date.now;
  const { target, login } = o;

  if (o.envToken) {
    registerSecret(o.envToken);
    report(ok('sign-in', 'APPWRITE_MCP_TOKEN is set: the proxy sends that token as is (no stored sign-in, no refresh, no browser)'));
    const verdict = await tokenVerdict(o, o.envToken);
    if (verdict.kind === 'accepted') report(ok('token', `the server accepts APPWRITE_MCP_TOKEN (HTTP ${verdict.status} to initialize)`, { detail: verdict.note ? [verdict.note] : undefined }));
    else if (verdict.kind === 'skipped') report(skip('token', verdict.why));
    else report(fail('token', `the server refuses APPWRITE_MCP_TOKEN: ${verdict.why}`, { fix: `Put a valid token in APPWRITE_MCP_TOKEN, or unset it to use the stored sign-in (${login}).` }));
    report(skip('refresh', 'APPWRITE_MCP_TOKEN is not refreshed: replace it when it expires'));
    return;
  }

  if (!record) {
    const others = (await o.signIns.list().catch(() => [])).filter((r) => r.url === target.url && r.key !== signInKey(target));
    const detail = others.map((r) => `signed in to this URL with ${r.headerNames?.length ? `the headers ${r.headerNames.join(', ')}` : 'no extra headers'}; pass the same --header flags to check that one`);
    if (o.server.answered && o.server.requiresAuth === false && !o.server.resource) {
      report(skip('sign-in', 'not signed in, and the server needs none', { detail }));
    } else {
      report(fail('sign-in', `not signed in to ${target.url}${target.headers ? ' with these headers' : ''}: your MCP client would wait for a browser sign-in`, { detail, fix: login }));
    }
    report(skip('token', 'no sign-in'));
    report(skip('refresh', 'no sign-in'));
    return;
  }

  // ── present and readable ──
  const where = o.signIns.describeStore(record.store);
  let stored: StoredSignIn | undefined;
  let refreshToken: string | undefined;
  try {
    if (record.store === 'keychain' && !o.keychainWorks) throw new AppError(Code.KEYCHAIN_UNAVAILABLE, 'the OS keychain is not usable (see the keychain line)');
    stored = await deadline(o.signIns.load(record.key), o.timeoutMs, `reading the sign-in took more than ${o.timeoutMs / 1000} s`);
    if (stored && record.token.hasRefreshToken) refreshToken = await deadline(o.signIns.refreshToken(stored.record), o.timeoutMs, `reading the refresh token took more than ${o.timeoutMs / 1000} s`);
  } catch (err) {
    report(fail('sign-in', `signed in as ${describeAccount(record.account)}, but the secrets cannot be read from ${where}: ${errorMessage(err)}`, {
      fix: record.store === 'keychain' ? `Unlock your keychain (see the keychain line), or sign in again into a 0600 file: ${login} --store file` : `${login}`,
    }));
    report(skip('token', 'the secrets cannot be read'));
    report(skip('refresh', 'the secrets cannot be read'));
    return;
  }
  if (!stored) {
    report(fail('sign-in', 'the sign-in disappeared while it was being read (another appwrite-mcp logged out?)', { fix: login }));
    report(skip('token', 'no sign-in'));
    report(skip('refresh', 'no sign-in'));
    return;
  }
  record = stored.record;
  const accessToken = stored.tokens?.accessToken;
  if (!accessToken && !refreshToken) {
    report(fail('sign-in', `signed in as ${describeAccount(record.account)}, but the tokens are missing from ${where}`, { fix: login }));
    report(skip('token', 'no token stored'));
    report(skip('refresh', 'no refresh token stored'));
    return;
  }
  const detail = [
    `issuer: ${record.as.issuer}; client: ${record.client.clientId} (${record.client.method})`,
    `scopes: ${record.token.scopes.length ? shorten(record.token.scopes) : '(none)'}`,
    describeExpiry(record.token.expiresAt, Boolean(refreshToken), now()),
    `signed in ${new Date(record.signedInAt).toISOString()}${record.headerNames?.length ? `; headers ${record.headerNames.join(', ')} (values not stored)` : ''}`,
  ];
  const moved = movedProblem(record, o.server);
  if (moved) report(warn('sign-in', `signed in as ${describeAccount(record.account)}, secrets in ${where}, but ${moved}`, { detail, fix: login }));
  else report(ok('sign-in', `signed in as ${describeAccount(record.account)}; secrets in ${where}`, { detail }));

  // ── the access token, as the server sees it ──
  const expired = record.token.expiresAt !== undefined && record.token.expiresAt <= now() + 1000;
  let why: string;
  let rejectedBy: BearerChallenge | undefined;
  if (!o.server.answered) {
    report(skip('token', 'the server could not be reached: the token was not tried'));
    report(refreshToken ? ok('refresh', 'a refresh token is held (not tried: the server could not be reached)') : warn('refresh', 'no refresh token: you will have to sign in again when the access token expires', { fix: login }));
    return;
  }
  if (accessToken && !expired) {
    const verdict = await tokenVerdict(o, accessToken);
    if (verdict.kind === 'accepted') {
      report(ok('token', `the server accepts the stored access token (HTTP ${verdict.status} to initialize)`, { detail: verdict.note ? [verdict.note] : undefined }));
      if (refreshToken && o.server.asUnreachable) {
        report(warn('refresh', `a refresh token is held, but the authorization server is unreachable: refreshing fails until it answers${record.token.expiresAt ? ` (the access token is good until ${new Date(record.token.expiresAt).toISOString()})` : ''}`, { fix: 'See the authorization-server line.' }));
      } else if (refreshToken) report(ok('refresh', 'a refresh token is held (not spent now: the access token is good, and a refresh would rotate it)'));
      else report(warn('refresh', `no refresh token: you will have to sign in again ${record.token.expiresAt ? `after ${new Date(record.token.expiresAt).toISOString()}` : 'when the access token expires'}`, {
        fix: `${login} (the authorization server granted no refresh token; it may need the offline_access scope)`,
      }));
      return;
    }
    if (verdict.kind === 'skipped') {
      report(skip('token', verdict.why));
      report(refreshToken ? ok('refresh', 'a refresh token is held') : warn('refresh', 'no refresh token', { fix: login }));
      return;
    }
    why = `the server rejected the stored access token (${verdict.why})`;
    rejectedBy = verdict.challenge;
  } else {
    why = accessToken ? 'the stored access token has expired' : 'the stored access token is missing or torn';
  }

  // ── a refresh is needed to know whether the proxy would work ──
  if (!refreshToken) {
    report(fail('token', `${why}, and there is no refresh token`, { fix: login }));
    report(fail('refresh', 'no refresh token: only a new sign-in helps', { fix: login }));
    return;
  }
  if (o.server.asUnreachable) {
    report(fail('token', `${why}; it cannot be refreshed while the authorization server is unreachable`, { fix: 'See the authorization-server line; once it answers, the proxy refreshes by itself.' }));
    report(fail('refresh', `cannot refresh: the authorization server is unreachable (${o.server.asUnreachable})`, { fix: 'See the authorization-server line.' }));
    return;
  }
  if (record.store === 'keychain' && !o.keychainWorks) {
    report(fail('token', `${why}; not refreshed, because the keychain could not save the rotated refresh token`, { fix: 'See the keychain line.' }));
    report(fail('refresh', 'not tried: a rotating refresh token is spent only when its successor can be saved', { fix: 'See the keychain line.' }));
    return;
  }
  const refreshed = await refreshAsTheProxyDoes(o, record, expired ? undefined : accessToken, rejectedBy);
  if (refreshed.kind === 'failed') {
    report(fail('token', `${why}, and refreshing it failed`, { fix: refreshed.fix }));
    report(fail('refresh', refreshed.why, { fix: refreshed.fix }));
    return;
  }
  if (!refreshed.saved) {
    report(fail('token', `${why}; refreshed it, but the new tokens could not be saved to ${where}`, { fix: `${login} (and see the keychain line)` }));
    report(fail('refresh', 'refreshed, but not saved: the rotated refresh token is lost', { fix: login }));
    return;
  }
  const verdict = await tokenVerdict(o, refreshed.token);
  const how = `refreshed it as the proxy would and saved the result to ${where}`;
  if (verdict.kind === 'accepted') {
    // A rejected (not merely expired) token is worth a warning: something revoked it.
    const line = `${why}; ${how}, and the server accepts the new one`;
    report(expired || !accessToken ? ok('token', line) : warn('token', line, { detail: ['the proxy would have done the same on its first request'] }));
    report(ok('refresh', `refreshed with the stored refresh token (token endpoint ${record.as.token_endpoint}) and saved`));
  } else {
    report(fail('token', `${why}; ${how}, but the server rejects the new one too (${verdict.kind === 'rejected' ? verdict.why : verdict.why})`, {
      fix: `${login} (the authorization server issues tokens this server does not take: if it persists, report it to the server's operator)`,
    }));
    report(ok('refresh', 'the refresh itself worked'));
  }
}

type Verdict =
  | { kind: 'accepted'; status: number; note?: string }
  | { kind: 'rejected'; why: string; challenge?: BearerChallenge }
  | { kind: 'skipped'; why: string };

/** A real `initialize` with the token: 2xx means accepted, 401 rejected. */
async function tokenVerdict(o: SignInCheckOptions, token: string): Promise<Verdict> {
  if (!o.server.answered) return { kind: 'skipped', why: 'the server could not be reached: the token was not tried' };
  try {
    const res = await probeServer(o.ctx, o.target.url, { ...o.target.headers, authorization: `Bearer ${token}` });
    if (!res.requiresAuth && res.status >= 200 && res.status < 300) {
      return { kind: 'accepted', status: res.status, ...(o.server.requiresAuth === false ? { note: 'the server answers initialize without a token too, so this does not prove the token is valid' } : {}) };
    }
    if (res.status === 403 && res.challenge?.error === 'insufficient_scope') {
      return { kind: 'accepted', status: res.status, note: `the server asks for more scope (${res.challenge.scope ?? 'unspecified'}): the proxy re-authorizes in the browser when it needs it` };
    }
    const c = res.challenge;
    if (res.status === 401 || res.status === 403 || c) {
      return { kind: 'rejected', why: `HTTP ${res.status}${c?.error ? `: ${c.error}${c.errorDescription ? ` (${c.errorDescription})` : ''}` : ''}`, challenge: c };
    }
    // Past the token check but refused as a request: a server of another protocol revision (a
    // 2026-07-28-only server answers a 2025 initialize with 400). Without the token it said 401.
    if (res.status >= 400 && res.status < 500 && o.server.requiresAuth) {
      return { kind: 'accepted', status: res.status, note: `the server refused the 2025 initialize itself (HTTP ${res.status}: another protocol revision?) only after it took the token, where it answered 401 without one` };
    }
    return { kind: 'skipped', why: `the server answered HTTP ${res.status} with the token: cannot tell whether it takes it` };
  } catch (err) {
    return { kind: 'skipped', why: `the server did not answer with the token: ${errorMessage(err)}` };
  }
}

type Refreshed =
  | { kind: 'refreshed'; token: string; saved: boolean }
  | { kind: 'failed'; why: string; fix: string };

/** How long doctor waits for the refresh (the AS, or another copy holding the lock). */
const REFRESH_WAIT_MS = 10_000;

/**
 * The refresh the proxy would make, made by the proxy's own StoredAuthorizer (never a browser):
 * under the sign-in's `tokens` lock, the store read again first (another copy may have refreshed),
 * the refresh token spent once, the result saved through SignIns.saveRefresh before the lock is
 * released; a refused grant is dropped, as the proxy drops it.
 */
async function refreshAsTheProxyDoes(o: SignInCheckOptions, record: SignInRecord, rejected: string | undefined, challenge: BearerChallenge | undefined): Promise<Refreshed> {
  const said: string[] = [];
  const logger: Logger = {
    debugEnabled: o.logger.debugEnabled,
    debug: (msg) => o.logger.debug(msg),
    info: (msg) => { said.push(msg); o.logger.debug(msg); },
    warn: (msg) => { said.push(msg); o.logger.debug(msg); },
    error: (msg) => { said.push(msg); o.logger.debug(msg); },
  };
  const { storedAuthorizer } = await import('../commands/auth-options.js');
  const authorizer = await storedAuthorizer({
    deps: { ctx: o.ctx, signIns: o.signIns, logger },
    target: o.target,
    plan: { unattended: false },
    allowBrowser: false,
    holdMs: REFRESH_WAIT_MS,
  });
  try {
    const token = rejected ? await authorizer.onUnauthorized(rejected, challenge ?? {}) : await authorizer.getToken();
    if (token === undefined) return { kind: 'failed', why: said.join('; ') || 'the sign-in could not be refreshed', fix: o.login };
    await authorizer.close();
    const saved = (await o.signIns.load(record.key).catch(() => undefined))?.tokens?.accessToken === token;
    return { kind: 'refreshed', token, saved };
  } catch (err) {
    const refused = said.find((line) => /refused the stored refresh token|no longer knows this client/.test(line));
    if (refused || isAppError(err, Code.SIGN_IN_REQUIRED)) {
      return { kind: 'failed', why: refused ? `${refused} (the refresh token is dropped, as the proxy drops it)` : errorMessage(err), fix: o.login };
    }
    return { kind: 'failed', why: errorMessage(err), fix: 'Check your network and the authorization server (see its line above), then run doctor again; the proxy retries by itself.' };
  } finally {
    await authorizer.close();
  }
}

/** The server now names another AS or resource than the sign-in was made for. */
function movedProblem(record: SignInRecord, server: ServerFacts): string | undefined {
  if (server.issuer && server.issuer !== record.as.issuer) return `the server now names the authorization server ${server.issuer}, not ${record.as.issuer} (sign in again)`;
  if (server.resource && server.resource !== record.resource) return `the server's resource is now ${server.resource}, not ${record.resource} (sign in again)`;
  return undefined;
}

function shorten(scopes: string[]): string {
  return scopes.length <= 8 ? scopes.join(' ') : `${scopes.slice(0, 7).join(' ')} … (${scopes.length} scopes)`;
}
