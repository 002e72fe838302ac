import { ExitCode, errorMessage } from '../errors.js';
import { signInKey, type SignIns } from '../store/sign-ins.js';
import type { Account, SignInRecord } from '../store/types.js';
import { resolveTarget } from '../target.js';
import { createCommandContext, type CommonOptions } from './context.js';
import { describeAccount, describeExpiry } from './describe.js';

export interface StatusOptions extends CommonOptions {
  url?: string;
  header?: string[];
  json?: boolean;
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
  signedInAt: string;
  problems: string[];
  /** The command that fixes the problems, when there are any. */
  fix?: string;
}

const REGISTRATION_LABEL: Record<string, string> = { dcr: 'dynamic client registration', preregistered: 'pre-registered (--client-id)', cimd: 'client ID metadata document' };

export async function runStatus(opts: StatusOptions): Promise<number> {
  const { signIns, http } = createCommandContext(opts);
  http.close();
  const target = opts.url || process.env.APPWRITE_MCP_URL || opts.header?.length ? resolveTarget(opts) : undefined;
  const key = target && signInKey(target);
  const records = (await signIns.list()).filter((r) => !key || r.key === key);
  const out = (text: string) => void process.stdout.write(`${text}\n`);

  if (records.length === 0) {
    const fix = `appwrite-mcp login${target ? ` --url ${target.url}` : ''}`;
    if (opts.json) out(JSON.stringify({ signedIn: false, url: target?.url ?? null, servers: [], fix }, null, 2));
    else out(`Not signed in to ${target?.url ?? 'any server'}.\n  Run: ${fix}`);
    return ExitCode.notSignedIn;
  }

  const entries: StatusEntry[] = [];
  for (const record of records) entries.push(await entryFor(signIns, record));
  if (opts.json) out(JSON.stringify({ signedIn: entries.some((e) => e.ok), servers: entries }, null, 2));
  else out(entries.map(render).join('\n\n'));
  return entries.every((e) => e.ok) ? ExitCode.ok : ExitCode.needsAttention;
}

async function entryFor(signIns: SignIns, record: SignInRecord, now = Date.now()): Promise<StatusEntry> {
  const where = signIns.describeStore(record.store);
  let accessToken: string | undefined;
  let refreshToken: string | undefined;
  let error: string | undefined;
  try {
    accessToken = (await signIns.load(record.key))?.tokens?.accessToken;
    if (record.token.hasRefreshToken) refreshToken = await signIns.refreshToken(record);
  } catch (err) {
    error = errorMessage(err);
  }
  const problems: string[] = [];
  const expiresAt = record.token.expiresAt;
  const expired = expiresAt !== undefined && expiresAt <= now;
  if (error) problems.push(`the secrets could not be read: ${error}`);
  else if (!accessToken && !refreshToken) problems.push(`the tokens are missing from ${where}`);
  else if ((expired || !accessToken) && !refreshToken) problems.push('the access token has expired and there is no refresh token');
  const login = `appwrite-mcp login --url ${record.url}${record.headerNames?.length ? ' --header …' : ''}`;
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
    signedInAt: new Date(record.signedInAt).toISOString(),
    problems,
    ...(problems.length ? { fix: error && record.store === 'keychain' ? `unlock your keychain, or ${login} --store file` : login } : {}),
  };
}

function render(e: StatusEntry): string {
  const lines = [e.url];
  lines.push(e.ok ? `  ✓ Signed in as ${describeAccount(e.account)}` : `  ✗ Signed in as ${describeAccount(e.account)}, but ${e.problems.join('; ')}`);
  if (e.headers) lines.push(`  headers:  ${e.headers.join(', ')} (values not stored)`);
  lines.push(`  issuer:   ${e.issuer}`);
  lines.push(`  scopes:   ${e.scopes.join(' ') || '(none)'}`);
  if (e.accessToken.present || e.refreshToken.present) lines.push(`  token:    ${describeExpiry(e.accessToken.expiresAt ? Date.parse(e.accessToken.expiresAt) : undefined, e.refreshToken.present)}`);
  lines.push(`  refresh:  ${e.refreshToken.present ? 'refresh token held' : 'no refresh token'}`);
  lines.push(`  secrets:  ${e.secrets.where}`);
  lines.push(`  client:   ${e.client.id} (${REGISTRATION_LABEL[e.client.registration] ?? e.client.registration})`);
  if (e.fix) lines.push(`  To fix:   ${e.fix}`);
  return lines.join('\n');
}
