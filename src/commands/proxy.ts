import { createCommandContext, type CommonOptions } from './context.js';
import { resolveServerUrl } from '../target.js';
import { runProxy } from '../proxy/bridge.js';
import type { Authorizer } from '../proxy/authorizer.js';
import { EnvTokenAuthorizer } from '../auth/env-authorizer.js';
import { StoredAuthorizer } from '../auth/stored-authorizer.js';
import { openBrowser } from '../auth/browser.js';
import { UserError, ExitCode } from '../errors.js';

export interface ProxyOptions extends CommonOptions {
  url?: string;
  header?: string[];
  authTimeout: number;
  browser: boolean;
}

/** How long a browser sign-in started by the proxy may take, and how long after one was not completed no copy opens another. */
const SIGN_IN_TIMEOUT_MS = 5 * 60_000;
const BROWSER_COOLDOWN_MS = 10 * 60_000;

export async function runProxyCommand(opts: ProxyOptions): Promise<void> {
  const url = resolveServerUrl(opts.url);
  const { logger, signInDeps } = createCommandContext(opts);
  const authTimeoutMs = opts.authTimeout * 1000;
  if (authTimeoutMs >= 60_000) {
    throw new UserError(`--auth-timeout ${opts.authTimeout} is too long: MCP clients give initialize 60 s at most`, { exitCode: ExitCode.usage });
  }
  const envToken = process.env.APPWRITE_MCP_TOKEN;
  const authorizer: Authorizer = envToken
    ? new EnvTokenAuthorizer(envToken, url)
    : new StoredAuthorizer({
        ...signInDeps,
        url,
        signInTimeoutMs: SIGN_IN_TIMEOUT_MS,
        allowBrowser: opts.browser,
        browserCooldownMs: BROWSER_COOLDOWN_MS,
        openUrl: (authorizationUrl) => void openBrowser(authorizationUrl, logger),
      });
  setTimeout(tuneGarbageCollectorForLongRun, GC_TUNING_DELAY_MS).unref();
  // Start now: a stored sign-in is loaded (and refreshed if due), a missing one opens the browser
  // while the client is still starting up. Failures surface on the first request.
  authorizer.getToken().catch((err) => logger.debug(`sign-in not ready yet: ${(err as Error).message}`));
  await runProxy({ url, headers: parseHeaders(opts.header ?? []), authorizer, logger, authTimeoutMs });
  // The client is gone: a sign-in still waiting for a browser, lock heartbeats, keep-alive sockets
  // must not keep the process around. Exit once stdout has drained.
  process.stdout.write('', () => process.exit(0));
}

/**
 * A proxy lives for hours and holds little: keep V8 from growing its young generation (to 32 MB
 * under load) and filling the old one with garbage before collecting. Measured with `npm run bench`:
 * peak RSS 97 → 66 MB at no cost in latency or throughput. Set after start-up, because any V8 flag
 * set before it makes Node skip the code cache of its built-in modules (+12 ms cold start).
 */
const GC_TUNING_DELAY_MS = 250;
async function tuneGarbageCollectorForLongRun(): Promise<void> {
  const v8 = await import('node:v8');
  v8.setFlagsFromString('--optimize-for-size');
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}

function parseHeaders(values: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const value of values) {
    const i = value.indexOf(':');
    const name = value.slice(0, i).trim();
    if (name.toLowerCase() === 'authorization') {
      throw new UserError('--header Authorization is not allowed: appwrite-mcp sets it from your sign-in', { hint: 'Use APPWRITE_MCP_TOKEN to supply a token yourself.', exitCode: ExitCode.usage });
    }
    headers[name] = value.slice(i + 1).trim();
  }
  return headers;
}
