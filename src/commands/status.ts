// `appwrite-mcp status`: who is signed in, to which server and issuer, with which scopes, where the
// secrets live; each entry with the command that fixes what is wrong. Data (`--json`, the report) on
// stdout; with --check, each server is asked whether it takes the token.
import type { AuthContext } from '../auth/oauth.js';
import { ExitCode, errorMessage } from '../errors.js';
import { signInKey, type SignIns } from '../store/sign-ins.js';
import type { Account, SignInRecord } from '../store/types.js';
import { DEFAULT_SERVER_URL, loginCommand, resolveTarget } from '../target.js';
import { describeAccount, describeExpiry } from '../ui/describe.js';
import { authOf, commandLogger, line, type CommonOptions, type Factory } from './factory.js';

export interface StatusOptions extends CommonOptions {
  url?: string;
  headerFile?: string;
  /** --url or APPWRITE_MCP_URL was given (a URL from config.json only is a default). */
  urlGiven?: boolean;
  header?: string[];
  profile?: string;
  json?: boolean;
  /** Ask each server whether it accepts the token. */
  check?: boolean;
}

/** One sign-in, as `status --json` prints it (tokens are never included). */
export interface StatusEntry {
  url: string;
  profile?: string;
  headers?: string[];
  ok: boolean;
  issuer: string;
  resource: string;
  account?: Account;
  scopes: string[];
  accessToken: { present: boolean; expiresAt?: string; expired?: boolean };
  refreshToken: { present: boolean };
  secrets: { store: 'keychain' | 'file'; where: string; readable: boolean; error?: string };
  client: { id: string; registration: string };
  /** The key the tokens are bound to (DPoP, RFC 9449): its algorithm and thumbprint; absent: bearer tokens. */
  dpop?: { alg: string; jkt: string };
  signedInAt: string;
  /** With --check: what the server said to the token. */
  server?: { accepts: boolean | null; detail: string };
  problems: string[];
  /** The command that fixes the problems, when there are any. */
  fix?: string;
}

const REGISTRATION_LABEL: Record<string, string> = { dcr: 'dynamic client registration', preregistered: 'pre-registered (--client-id)', cimd: 'client ID metadata document' };

export async function run(opts: StatusOptions, f: Factory): Promise<number> {
  const logger = commandLogger(opts, f);
  const signIns = f.signIns(logger, opts.store);
  const target = opts.urlGiven || opts.header?.length || opts.headerFile || opts.profile ? resolveTarget(opts, f.env) : undefined;
  const key = target && signInKey(target);
  const records = (await signIns.records.list()).filter((r) => !key || r.key === key);
  const out = (text: string) => line(f.io.stdout, text);
  const now = f.clock.now();

  if (records.length === 0) {
    const fix = target ? loginCommand(target) : loginCommand({ url: DEFAULT_SERVER_URL });
    if (opts.json) out(JSON.stringify({ signedIn: false, url: target?.url ?? null, servers: [], fix }, null, 2));
    else out(`Not signed in to ${target?.url ?? 'any server'}.\n  Run: ${fix}`);
    return ExitCode.notSignedIn;
  }

  const entries: StatusEntry[] = [];
  const http = opts.check ? f.http() : undefined;
  try {
    const check = http && { ctx: authOf(f, { logger, signIns, http }).ctx, headers: target?.headers };
    for (const record of records) entries.push(await entryFor(signIns, record, check, now));
  } finally {
    http?.close();
  }
  if (opts.json) out(JSON.stringify({ signedIn: entries.some((e) => e.ok), servers: entries }, null, 2));
  else out(entries.map((e) => render(e, now)).join('\n\n'));
  return entries.every((e) => e.ok) ? ExitCode.ok : ExitCode.needsAttention;
}

async function entryFor(signIns: SignIns, record: SignInRecord, check: { ctx: AuthContext; headers?: Record<string, string> } | undefined, now: number): Promise<StatusEntry> {
  const where = signIns.describeStore(record.store);
  let accessToken: string | undefined;
  let refreshToken: string | undefined;
  let tokenType: string | undefined;
  let error: string | undefined;
  try {
    const tokens = (await signIns.records.load(record.key))?.tokens;
    accessToken = tokens?.accessToken;
    tokenType = tokens?.tokenType;
    if (record.token.hasRefreshToken) refreshToken = await signIns.records.refreshToken(record);
  } catch (err) {
    error = errorMessage(err);
  }
  const problems: string[] = [];
  const expiresAt = record.token.expiresAt;
  const expired = expiresAt !== undefined && expiresAt <= now;
  if (error) problems.push(`the secrets could not be read: ${error}`);
  else if (!accessToken && !refreshToken) problems.push(`the tokens are missing from ${where}`);
  else if ((expired || !accessToken) && !refreshToken) problems.push('the access token has expired and there is no refresh token');
  let server: StatusEntry['server'];
  if (check) {
    if (accessToken && !expired) {
      const { checkToken } = await import('../auth/discovery.js');
      const { checkPresenter } = await import('../auth/bound-key.js');
      const present = await checkPresenter(record, accessToken, tokenType, (r) => signIns.records.dpopKey(r), check.ctx.logger);
      server = await checkToken(check.ctx, record.url, present, check.headers ?? {});
      if (server.accepts === false) problems.push(`the server refused the token (${server.detail})`);
      if (server.accepts === null) problems.push(`the server could not be asked (${server.detail})`);
    } else {
      server = { accepts: null, detail: 'not checked: no unexpired access token (the next use refreshes it)' };
    }
  }
  const login = loginCommand({ url: record.url, profile: record.profile, headers: Object.fromEntries((record.headerNames ?? []).map((n) => [n, ''])) });
  return {
    url: record.url,
    ...(record.profile ? { profile: record.profile } : {}),
    ...(record.headerNames ? { headers: record.headerNames } : {}),
    ok: problems.length === 0,
    issuer: record.as.issuer,
    resource: record.resource,
    account: record.account,
    scopes: record.token.scopes,
    accessToken: { present: Boolean(accessToken), expiresAt: expiresAt === undefined ? undefined : new Date(expiresAt).toISOString(), expired },
    refreshToken: { present: Boolean(refreshToken) },
    secrets: { store: record.store, where, readable: !error, ...(error ? { error } : {}) },
    client: { id: record.client.clientId, registration: record.client.method },
    ...(record.dpop ? { dpop: { alg: record.dpop.alg, jkt: record.dpop.jkt } } : {}),
    signedInAt: new Date(record.signedInAt).toISOString(),
    ...(server ? { server } : {}),
    problems,
    ...(problems.length ? { fix: error && record.store === 'keychain' ? `unlock your keychain, or ${login} --store file` : login } : {}),
  };
}

function render(e: StatusEntry, now: number): string {
  const lines = [e.url];
  lines.push(e.ok ? `  ✓ Signed in as ${describeAccount(e.account)}` : `  ✗ Signed in as ${describeAccount(e.account)}, but ${e.problems.join('; ')}`);
  if (e.headers) lines.push(`  headers:  ${e.headers.join(', ')} (values not stored)`);
  lines.push(`  issuer:   ${e.issuer}`);
  lines.push(`  scopes:   ${e.scopes.join(' ') || '(none)'}`);
  if (e.accessToken.present || e.refreshToken.present) lines.push(`  token:    ${describeExpiry(e.accessToken.expiresAt ? Date.parse(e.accessToken.expiresAt) : undefined, e.refreshToken.present, now)}`);
  lines.push(`  refresh:  ${e.refreshToken.present ? 'refresh token held' : 'no refresh token'}`);
  lines.push(`  secrets:  ${e.secrets.where}`);
  if (e.dpop) lines.push(`  binding:  DPoP-bound to this machine's key (${e.dpop.alg}, thumbprint ${e.dpop.jkt}), kept beside the refresh token: the tokens are useless without it`);
  if (e.server) lines.push(`  server:   ${e.server.accepts === true ? '✓ accepts the token' : e.server.accepts === false ? '✗ refuses the token' : '? not checked'} (${e.server.detail})`);
  lines.push(`  client:   ${e.client.id} (${REGISTRATION_LABEL[e.client.registration] ?? e.client.registration})`);
  if (e.fix) lines.push(`  To fix:   ${e.fix}`);
  return lines.join('\n');
}
