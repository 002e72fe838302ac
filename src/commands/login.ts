import { createCommandContext, type CommonOptions } from './context.js';
import { resolveServerUrl } from '../target.js';
import { signIn, type SignInStep } from '../auth/sign-in.js';
import { splitScopes } from '../auth/scopes.js';
import { openBrowser } from '../auth/browser.js';
import { ExitCode } from '../errors.js';
import { loadState } from '../store/state.js';
import { describeExpiry, describeAccount } from './describe.js';
import type { LoginReporter } from '../ui/login-reporter.js';

export interface LoginOptions extends CommonOptions {
  url?: string;
  scope?: string;
  clientId?: string;
  browser: boolean;
  timeout: number;
}

export async function runLogin(opts: LoginOptions): Promise<number> {
  const url = resolveServerUrl(opts.url);
  const { signInDeps, logger, dir } = createCommandContext(opts);
  const existing = (await loadState(dir)).servers[url];
  if (existing) process.stderr.write(`Already signed in to ${url} as ${describeAccount(existing.account)}; signing in again replaces that sign-in.\n`);
  const reporter = await createReporter(url);
  try {
    const result = await signIn(signInDeps, {
      url,
      scopes: opts.scope ? splitScopes(opts.scope) : undefined,
      clientId: opts.clientId,
      timeoutMs: opts.timeout * 1000,
      openUrl: async (authorizationUrl) => {
        if (opts.browser) await openBrowser(authorizationUrl, logger);
      },
      onStep: (step: SignInStep) => reporter.step(step, opts.browser),
    });
    reporter.done({
      url,
      account: describeAccount(result.server.account),
      scopes: result.server.scopes.join(' ') || '(none)',
      expiry: describeExpiry(result.server.expiresAt, result.server.hasRefreshToken),
      where: result.store.describe(),
    });
    return ExitCode.ok;
  } catch (err) {
    reporter.fail();
    throw err;
  } finally {
    await reporter.close();
  }
}

/** ink on a terminal; plain lines otherwise (CI, pipes, MCP clients). */
async function createReporter(url: string): Promise<LoginReporter> {
  if (process.stderr.isTTY && !process.env.CI) {
    const { createInkReporter } = await import('../ui/login-view.js');
    return createInkReporter(url);
  }
  const { createPlainReporter } = await import('../ui/login-reporter.js');
  return createPlainReporter(url, (line) => void process.stderr.write(`${line}\n`));
}
