// `appwrite-mcp logout`: revoke at the authorization server where it can (through the token
// endpoint port), then delete the local secrets and records; `--all` also forgets every cached
// client registration, issuer pin and tab cool-down. People-facing lines on stderr.
import type { RevocationOutcome, TokenEndpoint } from '../auth/index.js';
import { AppError, Code, ExitCode, errorMessage } from '../errors.js';
import { serverText } from '../log.js';
import { signInKey, type SignIns } from '../store/sign-ins.js';
import type { SignInRecord } from '../store/types.js';
import { resolveTarget } from '../target.js';
import { authOf, commandLogger, line, type CommonOptions, type Factory } from './factory.js';

export interface LogoutOptions extends CommonOptions {
  url?: string;
  /** --url or APPWRITE_MCP_URL was given (a URL from config.json only is a default). */
  urlGiven?: boolean;
  header?: string[];
  headerFile?: string;
  profile?: string;
  all?: boolean;
}

export async function run(opts: LogoutOptions, f: Factory): Promise<number> {
  const logger = commandLogger(opts, f);
  const signIns = f.signIns(logger, opts.store);
  const say = (text: string) => line(f.io.stderr, text);
  const all = await signIns.records.list();
  const named = opts.urlGiven || Boolean(opts.header?.length) || Boolean(opts.headerFile) || Boolean(opts.profile);
  // No server named: the one sign-in there is, if there is exactly one (else the default server).
  const target = opts.all ? undefined : !named && all.length === 1 ? all[0]! : resolveTarget(opts, f.env);
  if (!opts.all && !named && all.length > 1) {
    throw new AppError(Code.USAGE, `signed in to ${all.length} servers; say which one to sign out of`, {
      hint: `${all.map((r) => `  appwrite-mcp logout --url ${r.url}${r.profile ? ` --profile ${r.profile}` : ''}${r.headerNames?.length ? ' --header …' : ''}`).join('\n')}\n  or: appwrite-mcp logout --all`,
    });
  }
  const key = target && ('key' in target ? target.key : signInKey(target));
  const records = all.filter((r) => opts.all || r.key === key);
  if (records.length === 0) {
    say(opts.all || !named ? 'Not signed in to any server; nothing to do.' : `Not signed in to ${target!.url}; nothing to do.`);
    if (opts.all) await forgetEverything(signIns);
    return ExitCode.ok;
  }
  const http = f.http();
  try {
    const tokenEndpoint = authOf(f, { logger, signIns, http }).tokenEndpoint;
    let failed = false;
    for (const record of records) failed = !(await signOut(signIns, tokenEndpoint, record, say)) || failed;
    if (opts.all) await forgetEverything(signIns);
    return failed ? ExitCode.failure : ExitCode.ok;
  } finally {
    http.close();
  }
}

/** Revokes and deletes one sign-in; false when something could not be done (said on the way). */
async function signOut(signIns: SignIns, tokenEndpoint: TokenEndpoint, record: SignInRecord, say: (text: string) => void): Promise<boolean> {
  say(`Signing out of ${record.url}`);
  let ok = true;
  let accessToken: string | undefined;
  let refreshToken: string | undefined;
  let clientSecret: string | undefined;
  try {
    accessToken = (await signIns.records.load(record.key))?.tokens?.accessToken;
    refreshToken = await signIns.records.refreshToken(record);
    clientSecret = await signIns.records.clientSecret(record);
  } catch (err) {
    say(`  ✗ could not read the secrets (${errorMessage(err)})`);
    ok = false;
  }
  if (accessToken || refreshToken) {
    // Revoking the refresh token ends the grant; the access token is revoked too for ASes that keep them apart.
    const refresh = refreshToken ? await tokenEndpoint.revoke(record, refreshToken, 'refresh_token', clientSecret) : undefined;
    const access = accessToken ? await tokenEndpoint.revoke(record, accessToken, 'access_token', clientSecret) : undefined;
    for (const text of describeRevocations({ 'refresh token': refresh, 'access token': access }, record.as.issuer)) say(`  ${text}`);
  }
  const where = signIns.describeStore(record.store);
  try {
    const { deleted } = await signIns.records.forget(record);
    say(`  ${deleted ? '✓ removed the tokens from' : '· no tokens were left in'} ${where}`);
    say('  ✓ removed the local sign-in record');
  } catch (err) {
    // The record stays: it is what lets `status` and a second `logout` find these secrets again.
    say(`  ✗ could not delete the secrets from ${where} (${errorMessage(err)}); unlock it and run logout again`);
    ok = false;
  }
  return ok;
}

/** `logout --all`: the cached registrations, issuer pins and tab cool-downs go too. */
async function forgetEverything(signIns: SignIns): Promise<void> {
  await signIns.registrations.forgetAll();
  await signIns.cooldown.clearAll();
}

/**
 * One line per token, as the authorization server answered for it: revoked, refused for its kind
 * (unsupported_token_type: a self-contained JWT may stay valid until it expires), or failed with why.
 * No revocation endpoint at all is one line for both.
 */
function describeRevocations(outcomes: Record<'refresh token' | 'access token', RevocationOutcome | undefined>, issuer: string): string[] {
  const given = Object.entries(outcomes).filter((e): e is [string, RevocationOutcome] => e[1] !== undefined);
  if (given.every(([, o]) => o === 'unsupported')) return [`· ${issuer} offers no revocation endpoint; the tokens expire on their own`];
  const lines = given.map(([token, o]) => {
    if (o === 'revoked') return `✓ ${token}: revoked at ${issuer}`;
    if (o === 'unsupported') return `· ${token}: ${issuer} offers no revocation endpoint; it expires on its own`;
    if (o.error === 'unsupported_token_type') return `! ${token}: not revoked: ${issuer} does not revoke this kind of token (${serverText(o.failed)}); it may stay valid until it expires`;
    return `! ${token}: could not revoke at ${issuer} (${serverText(o.failed)})`;
  });
  if (given.some(([, o]) => o !== 'revoked')) lines.push('· the local copy is deleted anyway');
  return lines;
}
