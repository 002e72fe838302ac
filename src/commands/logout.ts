import { createCommandContext, type CommonOptions } from './context.js';
import { resolveServerUrl } from '../target.js';
import { loadState, updateState } from '../store/state.js';
import { openSecretStoreOfKind } from '../store/secrets.js';
import { revokeToken, type RevocationOutcome } from '../auth/tokens.js';
import type { TokenSet } from '../store/types.js';
import { ExitCode, errorMessage } from '../errors.js';

export interface LogoutOptions extends CommonOptions {
  url?: string;
  all?: boolean;
}

export async function runLogout(opts: LogoutOptions): Promise<number> {
  const { dir, logger, ctx, signInDeps } = createCommandContext(opts);
  const say = (line: string) => void process.stderr.write(`${line}\n`);
  const state = await loadState(dir);
  const url = opts.all ? undefined : resolveServerUrl(opts.url);
  const servers = Object.values(state.servers).filter((s) => opts.all || s.url === url);
  if (servers.length === 0) {
    say(opts.all ? 'Not signed in to any server; nothing to do.' : `Not signed in to ${url}; nothing to do.`);
    if (opts.all) await updateState(dir, (s) => { s.clients = {}; s.signInFailures = {}; });
    return ExitCode.ok;
  }

  let failed = false;
  for (const server of servers) {
    say(`Signing out of ${server.url}`);
    let tokens: TokenSet | undefined;
    const store = openSecretStoreOfKind(server.secretStore, { dir, logger, timeoutMs: signInDeps.keychainTimeoutMs });
    try {
      tokens = await store.get(server.secretKey);
    } catch (err) {
      say(`  ✗ could not read the secrets (${errorMessage(err)})`);
      failed = true;
    }
    if (tokens) {
      // Revoking the refresh token ends the grant; the access token is revoked too for ASes that keep them apart.
      const refresh = tokens.refreshToken ? await revokeToken(ctx, server.as, server.clientId, tokens.refreshToken, 'refresh_token') : undefined;
      const access = await revokeToken(ctx, server.as, server.clientId, tokens.accessToken, 'access_token');
      say(`  ${describeRevocation(refresh ?? access, server.as.issuer)}`);
    }
    try {
      const deleted = await store.delete(server.secretKey);
      say(`  ${deleted ? '✓ deleted' : '· nothing to delete in'} ${store.describe()}`);
    } catch (err) {
      // Keep the state: it is what lets `status` and a second `logout` find these secrets again.
      say(`  ✗ could not delete the secrets from ${store.describe()} (${errorMessage(err)}); unlock it and run logout again`);
      failed = true;
      continue;
    }
    await updateState(dir, (s) => {
      delete s.servers[server.url];
      delete s.signInFailures?.[server.url];
      if (opts.all) s.clients = {};
    });
    say('  ✓ removed the local sign-in state');
  }
  return failed ? ExitCode.failure : ExitCode.ok;
}

function describeRevocation(outcome: RevocationOutcome, issuer: string): string {
  if (outcome === 'revoked') return `✓ revoked the tokens at ${issuer}`;
  if (outcome === 'unsupported') return `· ${issuer} offers no revocation endpoint; the tokens expire on their own`;
  return `! could not revoke at ${issuer} (${outcome.failed}); the local copy is deleted anyway`;
}
