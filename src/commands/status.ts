import { createCommandContext, type CommonOptions } from './context.js';
import { resolveServerUrl } from '../target.js';
import { loadState } from '../store/state.js';
import { openSecretStoreOfKind } from '../store/secrets.js';
import type { Account, ServerState, TokenSet } from '../store/types.js';
import { ExitCode, errorMessage } from '../errors.js';
import { describeAccount, describeExpiry } from './describe.js';

export interface StatusOptions extends CommonOptions {
  url?: string;
  json?: boolean;
}

/** One signed-in server, as `status --json` prints it (tokens are never included). */
export interface StatusEntry {
  url: string;
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
  const { dir, logger, signInDeps } = createCommandContext(opts);
  const state = await loadState(dir);
  const wanted = opts.url || process.env.APPWRITE_MCP_URL ? resolveServerUrl(opts.url) : undefined;
  const servers = Object.values(state.servers).filter((s) => !wanted || s.url === wanted);
  const out = (text: string) => void process.stdout.write(`${text}\n`);

  if (servers.length === 0) {
    const target = wanted ?? 'any server';
    const fix = `appwrite-mcp login${wanted ? ` --url ${wanted}` : ''}`;
    if (opts.json) out(JSON.stringify({ signedIn: false, url: wanted ?? null, servers: [], fix }, null, 2));
    else out(`Not signed in to ${target}.\n  Run: ${fix}`);
    return ExitCode.notSignedIn;
  }

  const entries: StatusEntry[] = [];
  for (const server of servers) {
    let tokens: TokenSet | undefined;
    let where = server.secretStore === 'keychain' ? 'OS keychain' : 'file';
    let error: string | undefined;
    try {
      const store = openSecretStoreOfKind(server.secretStore, { dir, logger, timeoutMs: signInDeps.keychainTimeoutMs });
      where = store.describe();
      tokens = await store.get(server.secretKey);
    } catch (err) {
      error = errorMessage(err);
    }
    entries.push(entryFor(server, tokens, where, error));
  }

  if (opts.json) {
    out(JSON.stringify({ signedIn: entries.some((e) => e.ok), servers: entries }, null, 2));
  } else {
    out(entries.map(render).join('\n\n'));
  }
  if (entries.every((e) => e.ok)) return ExitCode.ok;
  return ExitCode.needsAttention;
}

function entryFor(server: ServerState, tokens: TokenSet | undefined, where: string, error: string | undefined, now = Date.now()): StatusEntry {
  const problems: string[] = [];
  const expired = tokens?.expiresAt !== undefined && tokens.expiresAt <= now;
  if (error) problems.push(`the secrets could not be read: ${error}`);
  else if (!tokens) problems.push(`the tokens are missing from ${where}`);
  else if (expired && !tokens.refreshToken) problems.push('the access token has expired and there is no refresh token');
  const login = `appwrite-mcp login --url ${server.url}`;
  return {
    url: server.url,
    ok: problems.length === 0,
    issuer: server.issuer,
    resource: server.resource,
    account: server.account,
    scopes: server.scopes,
    accessToken: { present: Boolean(tokens?.accessToken), expiresAt: isoOrUndefined(tokens?.expiresAt ?? server.expiresAt), expired },
    refreshToken: { present: Boolean(tokens?.refreshToken) },
    secrets: { store: server.secretStore, where, readable: !error, ...(error ? { error } : {}) },
    client: { id: server.clientId, registration: server.registration },
    signedInAt: new Date(server.signedInAt).toISOString(),
    problems,
    ...(problems.length ? { fix: error && server.secretStore === 'keychain' ? `unlock your keychain, or ${login} --store file` : login } : {}),
  };
}

const isoOrUndefined = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

function render(e: StatusEntry): string {
  const lines = [e.url];
  lines.push(e.ok ? `  ✓ Signed in as ${describeAccount(e.account)}` : `  ✗ Signed in as ${describeAccount(e.account)}, but ${e.problems.join('; ')}`);
  lines.push(`  issuer:   ${e.issuer}`);
  lines.push(`  scopes:   ${e.scopes.join(' ') || '(none)'}`);
  if (e.accessToken.present) lines.push(`  token:    ${describeExpiry(e.accessToken.expiresAt ? Date.parse(e.accessToken.expiresAt) : undefined, e.refreshToken.present)}`);
  lines.push(`  refresh:  ${e.refreshToken.present ? 'refresh token held' : 'no refresh token'}`);
  lines.push(`  secrets:  ${e.secrets.where}`);
  lines.push(`  client:   ${e.client.id} (${REGISTRATION_LABEL[e.client.registration] ?? e.client.registration})`);
  if (e.fix) lines.push(`  To fix:   ${e.fix}`);
  return lines.join('\n');
}
