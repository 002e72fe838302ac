// Doctor, part 5: this server's stored sign-in. Present and readable; its access token accepted by
// the server (a real `initialize` with it); and a refresh possible. A refresh token is only spent
// when the access token cannot be used as it is (rejected or expired), and then by the proxy's own
// authorizer (the auth façade): under the sign-in's refresh lock, saved before the lock is released
// (a rotating refresh token may be spent once). Why a refresh failed is read from the error's code
// and cause, never from log lines.
import type { AuthChallenge } from '../authorization.js';
import { checkPresenter } from '../auth/bound-key.js';
import { probeServer } from '../auth/discovery.js';
import type { Auth } from '../auth/index.js';
import { AppError, Code, errorMessage, isAppError } from '../errors.js';
import { registerSecret } from '../log.js';
import { signInKey, type SignIns } from '../store/sign-ins.js';
import type { SignIn, SignInRecord, Target } from '../store/types.js';
import { describeAccount, describeExpiry } from '../ui/describe.js';
import { deadline, fail, ok, skip, warn, type CheckResult } from './report.js';
import type { ServerFacts } from './server.js';

export interface SignInCheckOptions {
  target: Target;
  signIns: SignIns;
  /** The sign-in side, built on doctor's recording fetch with a logger that keeps quiet. */
  auth: Auth;
  server: ServerFacts;
  /** The keychain round trip worked (a refreshed sign-in can be saved there). */
  keychainWorks: boolean;
  /** APPWRITE_MCP_TOKEN, which the proxy uses as is. */
  envToken?: string;
  /** `appwrite-mcp login …` for this server. */
  login: string;
  /** Bound on reading the secrets. */
  timeoutMs: number;
  now: () => number;
}

type Report = (r: CheckResult) => void;

/** What was read back of the sign-in. */
interface Read {
  record: SignInRecord;
  where: string;
  accessToken?: string;
  refreshToken?: string;
}

export async function checkSignIn(o: SignInCheckOptions, record: SignInRecord | undefined, report: Report): Promise<void> {
  if (o.envToken) return checkEnvToken(o, o.envToken, report);
  if (!record) return notSignedIn(o, report);
  const read = await readSignIn(o, record, report);
  if (!read) return;
  const { accessToken, refreshToken } = read;
  if (!o.server.answered) {
    report(skip('token', 'the server could not be reached: the token was not tried'));
    report(refreshToken ? ok('refresh', 'a refresh token is held (not tried: the server could not be reached)') : warn('refresh', 'no refresh token: you will have to sign in again when the access token expires', { fix: o.login }));
    return;
  }
  const expired = read.record.token.expiresAt !== undefined && read.record.token.expiresAt <= o.now() + 1000;
  if (!accessToken || expired) return refreshChecks(o, read, accessToken ? 'the stored access token has expired' : 'the stored access token is missing or torn', undefined, undefined, report);
  const verdict = await tokenVerdict(o, accessToken, read.record);
  if (verdict.kind === 'accepted') {
    report(ok('token', `the server accepts the stored access token (HTTP ${verdict.status} to initialize)`, { detail: verdict.note ? [verdict.note] : undefined }));
    return report(heldRefreshToken(o, read));
  }
  if (verdict.kind === 'skipped') {
    report(skip('token', verdict.why));
    return report(refreshToken ? ok('refresh', 'a refresh token is held') : warn('refresh', 'no refresh token', { fix: o.login }));
  }
  return refreshChecks(o, read, `the server rejected the stored access token (${verdict.why})`, accessToken, verdict.challenge, report);
}

async function checkEnvToken(o: SignInCheckOptions, token: string, report: Report): Promise<void> {
  registerSecret(token);
  report(ok('sign-in', 'APPWRITE_MCP_TOKEN is set: the proxy sends that token as is (no stored sign-in, no refresh, no browser)'));
  const verdict = await tokenVerdict(o, token);
  if (verdict.kind === 'accepted') report(ok('token', `the server accepts APPWRITE_MCP_TOKEN (HTTP ${verdict.status} to initialize)`, { detail: verdict.note ? [verdict.note] : undefined }));
  else if (verdict.kind === 'skipped') report(skip('token', verdict.why));
  else report(fail('token', `the server refuses APPWRITE_MCP_TOKEN: ${verdict.why}`, { fix: `Put a valid token in APPWRITE_MCP_TOKEN, or unset it to use the stored sign-in (${o.login}).` }));
  report(skip('refresh', 'APPWRITE_MCP_TOKEN is not refreshed: replace it when it expires'));
}

async function notSignedIn(o: SignInCheckOptions, report: Report): Promise<void> {
  const { target } = o;
  const others = (await o.signIns.records.list().catch(() => [])).filter((r) => r.url === target.url && r.key !== signInKey(target));
  const detail = others.map((r) => `signed in to this URL with ${r.headerNames?.length ? `the headers ${r.headerNames.join(', ')}` : 'no extra headers'}; pass the same --header flags to check that one`);
  if (o.server.answered && o.server.requiresAuth === false && !o.server.resource) {
    report(skip('sign-in', 'not signed in, and the server needs none', { detail }));
  } else {
    report(fail('sign-in', `not signed in to ${target.url}${target.headers ? ' with these headers' : ''}: your MCP client would wait for a browser sign-in`, { detail, fix: o.login }));
  }
  report(skip('token', 'no sign-in'));
  report(skip('refresh', 'no sign-in'));
}

/** The sign-in line: present and readable (undefined after reporting when it is not). */
async function readSignIn(o: SignInCheckOptions, record: SignInRecord, report: Report): Promise<Read | undefined> {
  const where = o.signIns.describeStore(record.store);
  const stop = (r: CheckResult, why: string) => {
    report(r);
    report(skip('token', why));
    report(skip('refresh', why));
    return undefined;
  };
  let stored: SignIn | undefined;
  let refreshToken: string | undefined;
  try {
    if (record.store === 'keychain' && !o.keychainWorks) throw new AppError(Code.KEYCHAIN_UNAVAILABLE, 'the OS keychain is not usable (see the keychain line)');
    stored = await deadline(o.signIns.records.load(record.key), o.timeoutMs, `reading the sign-in took more than ${o.timeoutMs / 1000} s`);
    if (stored && record.token.hasRefreshToken) refreshToken = await deadline(o.signIns.records.refreshToken(stored.record), o.timeoutMs, `reading the refresh token took more than ${o.timeoutMs / 1000} s`);
  } catch (err) {
    return stop(fail('sign-in', `signed in as ${describeAccount(record.account)}, but the secrets cannot be read from ${where}: ${errorMessage(err)}`, {
      fix: record.store === 'keychain' ? `Unlock your keychain (see the keychain line), or sign in again into a 0600 file: ${o.login} --store file` : `${o.login}`,
    }), 'the secrets cannot be read');
  }
  if (!stored) return stop(fail('sign-in', 'the sign-in disappeared while it was being read (another appwrite-mcp logged out?)', { fix: o.login }), 'no sign-in');
  const accessToken = stored.tokens?.accessToken;
  if (!accessToken && !refreshToken) {
    report(fail('sign-in', `signed in as ${describeAccount(stored.record.account)}, but the tokens are missing from ${where}`, { fix: o.login }));
    report(skip('token', 'no token stored'));
    report(skip('refresh', 'no refresh token stored'));
    return undefined;
  }
  report(signInLine(o, stored.record, where, Boolean(refreshToken)));
  return { record: stored.record, where, accessToken, refreshToken };
}

function signInLine(o: SignInCheckOptions, record: SignInRecord, where: string, hasRefreshToken: boolean): CheckResult {
  const detail = [
    `issuer: ${record.as.issuer}; client: ${record.client.clientId} (${record.client.method})`,
    `scopes: ${record.token.scopes.length ? shorten(record.token.scopes) : '(none)'}`,
    describeExpiry(record.token.expiresAt, hasRefreshToken, o.now()),
    `signed in ${new Date(record.signedInAt).toISOString()}${record.headerNames?.length ? `; headers ${record.headerNames.join(', ')} (values not stored)` : ''}`,
  ];
  const moved = movedProblem(record, o.server);
  return moved
    ? warn('sign-in', `signed in as ${describeAccount(record.account)}, secrets in ${where}, but ${moved}`, { detail, fix: o.login })
    : ok('sign-in', `signed in as ${describeAccount(record.account)}; secrets in ${where}`, { detail });
}

/** The refresh line when the access token is good: a refresh token held (not spent: it would rotate). */
function heldRefreshToken(o: SignInCheckOptions, { record, refreshToken }: Read): CheckResult {
  const until = record.token.expiresAt ? new Date(record.token.expiresAt).toISOString() : undefined;
  if (refreshToken && o.server.asUnreachable) {
    return warn('refresh', `a refresh token is held, but the authorization server is unreachable: refreshing fails until it answers${until ? ` (the access token is good until ${until})` : ''}`, { fix: 'See the authorization-server line.' });
  }
  if (refreshToken) return ok('refresh', 'a refresh token is held (not spent now: the access token is good, and a refresh would rotate it)');
  return warn('refresh', `no refresh token: you will have to sign in again ${until ? `after ${until}` : 'when the access token expires'}`, {
    fix: `${o.login} (the authorization server granted no refresh token; it may need the offline_access scope)`,
  });
}

/** The access token cannot be used as it is: would a refresh make the proxy work? Made, when it can be. */
async function refreshChecks(o: SignInCheckOptions, read: Read, why: string, rejected: string | undefined, challenge: AuthChallenge | undefined, report: Report): Promise<void> {
  const { login } = o;
  if (!read.refreshToken) {
    report(fail('token', `${why}, and there is no refresh token`, { fix: login }));
    return report(fail('refresh', 'no refresh token: only a new sign-in helps', { fix: login }));
  }
  if (o.server.asUnreachable) {
    report(fail('token', `${why}; it cannot be refreshed while the authorization server is unreachable`, { fix: 'See the authorization-server line; once it answers, the proxy refreshes by itself.' }));
    return report(fail('refresh', `cannot refresh: the authorization server is unreachable (${o.server.asUnreachable})`, { fix: 'See the authorization-server line.' }));
  }
  if (read.record.store === 'keychain' && !o.keychainWorks) {
    report(fail('token', `${why}; not refreshed, because the keychain could not save the rotated refresh token`, { fix: 'See the keychain line.' }));
    return report(fail('refresh', 'not tried: a rotating refresh token is spent only when its successor can be saved', { fix: 'See the keychain line.' }));
  }
  const refreshed = await refreshAsTheProxyDoes(o, read.record, rejected, challenge);
  if (refreshed.kind === 'failed') {
    report(fail('token', `${why}, and refreshing it failed`, { fix: refreshed.fix }));
    return report(fail('refresh', refreshed.why, { fix: refreshed.fix }));
  }
  if (!refreshed.saved) {
    report(fail('token', `${why}; refreshed it, but the new tokens could not be saved to ${read.where}`, { fix: `${login} (and see the keychain line)` }));
    return report(fail('refresh', 'refreshed, but not saved: the rotated refresh token is lost', { fix: login }));
  }
  const verdict = await tokenVerdict(o, refreshed.token, read.record);
  const how = `refreshed it as the proxy would and saved the result to ${read.where}`;
  if (verdict.kind === 'accepted') {
    // A rejected (not merely expired) token is worth a warning: something revoked it.
    const text = `${why}; ${how}, and the server accepts the new one`;
    report(rejected === undefined ? ok('token', text) : warn('token', text, { detail: ['the proxy would have done the same on its first request'] }));
    report(ok('refresh', `refreshed with the stored refresh token (token endpoint ${read.record.as.token_endpoint}) and saved`));
  } else {
    report(fail('token', `${why}; ${how}, but the server rejects the new one too (${verdict.why})`, {
      fix: `${login} (the authorization server issues tokens this server does not take: if it persists, report it to the server's operator)`,
    }));
    report(ok('refresh', 'the refresh itself worked'));
  }
}

type Verdict =
  | { kind: 'accepted'; status: number; note?: string }
  | { kind: 'rejected'; why: string; challenge?: AuthChallenge }
  | { kind: 'skipped'; why: string };

/** A real `initialize` with the token: 2xx means accepted, 401 rejected. */
async function tokenVerdict(o: SignInCheckOptions, token: string, record?: SignInRecord): Promise<Verdict> {
  if (!o.server.answered) return { kind: 'skipped', why: 'the server could not be reached: the token was not tried' };
  let res: Awaited<ReturnType<typeof probeServer>>;
  try {
    // A DPoP-bound token goes with a proof by the sign-in's key, as the proxy sends it (RFC 9449 §7.1).
    const present = record?.dpop ? await checkPresenter(record, token, record.token.tokenType, (r) => o.signIns.records.dpopKey(r), o.auth.ctx.logger) : undefined;
    res = present
      ? await probeServer(o.auth.ctx, o.target.url, { ...o.target.headers }, present)
      : await probeServer(o.auth.ctx, o.target.url, { ...o.target.headers, authorization: `Bearer ${token}` });
  } catch (err) {
    return { kind: 'skipped', why: `the server did not answer with the token: ${errorMessage(err)}` };
  }
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
}

type Refreshed =
  | { kind: 'refreshed'; token: string; saved: boolean }
  | { kind: 'failed'; why: string; fix: string };

/** How long doctor waits for the refresh (the AS, or another copy holding the lock). */
const REFRESH_WAIT_MS = 10_000;

/**
 * The refresh the proxy would make, made by the proxy's own authorizer (never a browser): the
 * store read again first (another copy may have refreshed), the refresh token spent once and only
 * under the refresh lock, the result saved before the lock is released; a refused grant is dropped,
 * as the proxy drops it, and named by the error's cause.
 */
async function refreshAsTheProxyDoes(o: SignInCheckOptions, record: SignInRecord, rejected: string | undefined, challenge: AuthChallenge | undefined): Promise<Refreshed> {
  const authorizer = await o.auth.authorizer({ target: o.target, plan: { unattended: false }, allowBrowser: false, holdMs: REFRESH_WAIT_MS });
  try {
    const token = await authorizer.onUnauthorized(rejected, challenge ?? {});
    await authorizer.close();
    const saved = (await o.signIns.records.load(record.key).catch(() => undefined))?.tokens?.accessToken === token;
    return { kind: 'refreshed', token, saved };
  } catch (err) {
    const refused = isAppError(err) && isAppError(err.cause, Code.GRANT_INVALID, Code.CLIENT_UNKNOWN) ? err.cause : undefined;
    if (refused) return { kind: 'failed', why: `${refused.message}; a new sign-in is needed (the refresh token is dropped, as the proxy drops it)`, fix: o.login };
    if (isAppError(err, Code.SIGN_IN_REQUIRED)) return { kind: 'failed', why: errorMessage(err), fix: o.login };
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
