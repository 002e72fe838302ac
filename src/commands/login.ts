import { createInterface } from 'node:readline';
import { openBrowser } from '../auth/browser.js';
import { splitScopes } from '../auth/scopes.js';
import type { SignInStep } from '../auth/sign-in.js';
import { AppError, Code, ExitCode, isAppError } from '../errors.js';
import { signInKey } from '../store/sign-ins.js';
import { resolveTarget } from '../target.js';
import type { LoginReporter } from '../ui/login-reporter.js';
import { runSignIn, signInPlan, type AuthFlags } from './auth-options.js';
import { createCommandContext, type CommonOptions } from './context.js';
import { describeAccount, describeExpiry } from './describe.js';

export interface LoginOptions extends CommonOptions, AuthFlags {
  url?: string;
  header?: string[];
  scope?: string;
  clientSecretStdin?: boolean;
  browser: boolean;
  timeout: number;
}

export async function runLogin(opts: LoginOptions): Promise<number> {
  const target = resolveTarget(opts);
  const plan = signInPlan(opts, process.env, opts.clientSecretStdin ? await readSecretFromStdin() : undefined);
  const reporter = await createReporter(target.url, opts.timeout * 1000);
  const { ctx, signIns, logger, http } = createCommandContext(opts, process.env, (line) => reporter.log(line));
  const existing = await signIns.record(signInKey(target));
  if (existing) reporter.log(`Already signed in to ${target.url} as ${describeAccount(existing.account)}; signing in again replaces that sign-in.`);
  const onInterrupt = () => {
    reporter.fail();
    void reporter.close().finally(() => {
      process.stderr.write('Sign-in cancelled.\n');
      process.exit(130);
    });
  };
  process.once('SIGINT', onInterrupt);
  let opened = false;
  try {
    const result = await runSignIn(plan, { ctx, signIns }, {
      target,
      scopes: opts.scope ? splitScopes(opts.scope) : undefined,
      browser: {
        timeoutMs: opts.timeout * 1000,
        openUrl: async (authorizationUrl) => {
          if (opts.browser) opened = await openBrowser(authorizationUrl, logger);
        },
        onStep: (step: SignInStep) => reporter.step(step, opened),
        // stdin is free unless it carried the client secret: a pasted address is taken from it.
        pasted: opts.clientSecretStdin ? undefined : readLines,
      },
    });
    reporter.done({
      url: target.url,
      account: describeAccount(result.record.account),
      scopes: result.record.token.scopes.join(' ') || '(none)',
      expiry: describeExpiry(result.record.token.expiresAt, result.record.token.hasRefreshToken),
      where: result.where,
    });
    return ExitCode.ok;
  } catch (err) {
    reporter.fail();
    if (isAppError(err, Code.NO_SIGN_IN_NEEDED)) {
      process.stderr.write(`${err.message}.\n`);
      return ExitCode.ok;
    }
    throw err;
  } finally {
    process.off('SIGINT', onInterrupt);
    await reporter.close();
    http.close();
  }
}

/** Hands each line typed or piped on stdin to `accept` until stopped; stdin at EOF is simply done. */
function readLines(accept: (line: string) => void): () => void {
  const lines = createInterface({ input: process.stdin, terminal: false });
  lines.on('line', accept);
  return () => {
    lines.close();
    process.stdin.pause();
  };
}

/** `--client-secret-stdin`: the secret piped in (a terminal would echo it, so one is refused). */
async function readSecretFromStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    throw new AppError(Code.USAGE, '--client-secret-stdin reads the secret from a pipe, and stdin is a terminal', {
      hint: 'Pipe it in: printf %s "$SECRET" | appwrite-mcp login --client-secret-stdin …  (or set APPWRITE_MCP_CLIENT_SECRET)',
    });
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const secret = Buffer.concat(chunks).toString('utf8').trim();
  if (!secret) throw new AppError(Code.USAGE, '--client-secret-stdin: nothing was piped in');
  return secret;
}

/** ink on a terminal; plain lines otherwise (CI, pipes, MCP clients). */
async function createReporter(url: string, timeoutMs: number): Promise<LoginReporter> {
  if (process.stderr.isTTY && !process.env.CI) {
    const { createInkReporter } = await import('../ui/login-view.js');
    return createInkReporter(url, timeoutMs);
  }
  const { createPlainReporter } = await import('../ui/login-reporter.js');
  return createPlainReporter(url, (line) => void process.stderr.write(`${line}\n`));
}
