import { revokeToken, type RevocationOutcome } from '../auth/tokens.js';
import { AppError, Code, ExitCode, errorMessage } from '../errors.js';
import { signInKey } from '../store/sign-ins.js';
import { resolveTarget } from '../target.js';
import { createCommandContext, type CommonOptions } from './context.js';

export interface LogoutOptions extends CommonOptions {
  url?: string;
  /** --url or APPWRITE_MCP_URL was given (a URL from config.json only is a default). */
  urlGiven?: boolean;
  header?: string[];
  profile?: string;
  all?: boolean;
}

export async function runLogout(opts: LogoutOptions): Promise<number> {
  const { ctx, signIns, http } = createCommandContext(opts);
  const say = (line: string) => void process.stderr.write(`${line}\n`);
  const all = await signIns.list();
  const named = opts.urlGiven || Boolean(opts.header?.length) || Boolean(opts.profile);
  // No server named: the one sign-in there is, if there is exactly one (else the default server).
  const target = opts.all ? undefined : !named && all.length === 1 ? all[0]! : resolveTarget(opts);
  if (!opts.all && !named && all.length > 1) {
    throw new AppError(Code.USAGE, `signed in to ${all.length} servers; say which one to sign out of`, {
      hint: `${all.map((r) => `  appwrite-mcp logout --url ${r.url}${r.profile ? ` --profile ${r.profile}` : ''}${r.headerNames?.length ? ' --header …' : ''}`).join('\n')}\n  or: appwrite-mcp logout --all`,
    });
  }
  const key = target && ('key' in target ? target.key : signInKey(target));
  const records = all.filter((r) => opts.all || r.key === key);
  try {
    if (records.length === 0) {
      say(opts.all || !named ? 'Not signed in to any server; nothing to do.' : `Not signed in to ${target!.url}; nothing to do.`);
      if (opts.all) await signIns.forgetClients();
      return ExitCode.ok;
    }
    let failed = false;
    for (const record of records) {
      say(`Signing out of ${record.url}`);
      let stored;
      let refreshToken: string | undefined;
      let clientSecret: string | undefined;
      try {
        stored = await signIns.load(record.key);
        refreshToken = await signIns.refreshToken(record);
        clientSecret = await signIns.clientSecret(record);
      } catch (err) {
        say(`  ✗ could not read the secrets (${errorMessage(err)})`);
        failed = true;
      }
      if (stored?.tokens || refreshToken) {
        // Revoking the refresh token ends the grant; the access token is revoked too for ASes that keep them apart.
        const refresh = refreshToken ? await revokeToken(ctx, record, refreshToken, 'refresh_token', clientSecret) : undefined;
        const access = stored?.tokens ? await revokeToken(ctx, record, stored.tokens.accessToken, 'access_token', clientSecret) : undefined;
        say(`  ${describeRevocation((refresh ?? access)!, record.as.issuer)}`);
      }
      const where = signIns.describeStore(record.store);
      try {
        const { deleted } = await signIns.forget(record);
        say(`  ${deleted ? '✓ removed the tokens from' : '· no tokens were left in'} ${where}`);
        say('  ✓ removed the local sign-in record');
      } catch (err) {
        // The record stays: it is what lets `status` and a second `logout` find these secrets again.
        say(`  ✗ could not delete the secrets from ${where} (${errorMessage(err)}); unlock it and run logout again`);
        failed = true;
      }
    }
    if (opts.all) await signIns.forgetClients();
    return failed ? ExitCode.failure : ExitCode.ok;
  } finally {
    http.close();
  }
}

function describeRevocation(outcome: RevocationOutcome, issuer: string): string {
  if (outcome === 'revoked') return `✓ revoked the tokens at ${issuer}`;
  if (outcome === 'unsupported') return `· ${issuer} offers no revocation endpoint; the tokens expire on their own`;
  return `! could not revoke at ${issuer} (${outcome.failed}); the local copy is deleted anyway`;
}
