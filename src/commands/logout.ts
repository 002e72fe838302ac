import { revokeToken, type RevocationOutcome } from '../auth/tokens.js';
import { ExitCode, errorMessage } from '../errors.js';
import { signInKey } from '../store/sign-ins.js';
import { resolveTarget } from '../target.js';
import { createCommandContext, type CommonOptions } from './context.js';

export interface LogoutOptions extends CommonOptions {
  url?: string;
  header?: string[];
  all?: boolean;
}

export async function runLogout(opts: LogoutOptions): Promise<number> {
  const { ctx, signIns, http } = createCommandContext(opts);
  const say = (line: string) => void process.stderr.write(`${line}\n`);
  const target = opts.all ? undefined : resolveTarget(opts);
  const key = target && signInKey(target);
  const records = (await signIns.list()).filter((r) => opts.all || r.key === key);
  try {
    if (records.length === 0) {
      say(opts.all ? 'Not signed in to any server; nothing to do.' : `Not signed in to ${target!.url}; nothing to do.`);
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
        say(`  ${deleted ? '✓ deleted' : '· nothing to delete in'} ${where}`);
        say('  ✓ removed the local sign-in state');
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
