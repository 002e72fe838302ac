// `appwrite-mcp login`: sign in now — in the browser, from another device with --device-code, or
// without a person (--client-credentials, --idp-token-endpoint) — so the MCP client never waits.
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { SignInStep } from '../auth/index.js';
import { splitScopes } from '../auth/scopes.js';
import { AppError, Code, ExitCode, isAppError } from '../errors.js';
import { signInKey } from '../store/sign-ins.js';
import { resolveTarget } from '../target.js';
import { describeAccount, describeExpiry } from '../ui/describe.js';
import type { LoginReporter } from '../ui/login-reporter.js';
import { signInPlan, type AuthFlags } from './auth-flags.js';
import { authOf, commandLogger, line, type CommonOptions, type Factory } from './factory.js';

export interface LoginOptions extends CommonOptions, AuthFlags {
  url?: string;
  header?: string[];
  headerFile?: string;
  profile?: string;
  scope?: string;
  clientSecretStdin?: boolean;
  browser: boolean;
  /** Seconds; default BROWSER_TIMEOUT_S, or with --device-code the code's lifetime (at most DEVICE_MAX_WAIT_S). */
  timeout?: number;
}

const BROWSER_TIMEOUT_S = 300;
/** The longest `login --device-code` waits without --timeout, whatever the code's `expires_in` says. */
const DEVICE_MAX_WAIT_S = 1800;
/** The exit code of a sign-in cancelled with Ctrl-C (128 + SIGINT). */
const CANCELLED = 130;

export async function run(opts: LoginOptions, f: Factory): Promise<number> {
  const target = resolveTarget(opts, f.env);
  const plan = signInPlan(opts, f.env, opts.clientSecretStdin ? await readSecret(f) : undefined);
  const timeoutMs = (opts.timeout ?? BROWSER_TIMEOUT_S) * 1000;
  const reporter = await createReporter(f, target.url, timeoutMs);
  const logger = commandLogger(opts, f, (text) => reporter.log(text));
  const http = f.http();
  const signIns = f.signIns(logger, opts.store);
  const existing = await signIns.records.record(signInKey(target));
  if (existing) reporter.log(`Already signed in to ${target.url} as ${describeAccount(existing.account)}; signing in again replaces that sign-in.`);
  const cancel = new AbortController();
  const interrupted = new Promise<number>((resolve) => cancel.signal.addEventListener('abort', () => resolve(CANCELLED), { once: true }));
  const stopListening = f.onInterrupt(() => cancel.abort(new AppError(Code.SIGN_IN_TIMEOUT, 'the sign-in was cancelled')));
  let opened = false;
  const openUrl = async (url: string) => {
    if (opts.browser) opened = await f.openBrowser(url, logger);
  };
  const onStep = (step: SignInStep) => reporter.step(step, opened);
  try {
    const signingIn = authOf(f, { logger, signIns, http }).signIn(plan, {
      target,
      signal: cancel.signal,
      scopes: opts.scope ? splitScopes(opts.scope) : undefined,
      // --device-code: the address and code are printed; no callback, nothing read from stdin.
      device: { timeoutMs: (opts.timeout ?? DEVICE_MAX_WAIT_S) * 1000, openUrl, onStep },
      // stdin is free unless it carried the client secret: a pasted address is taken from it.
      browser: { timeoutMs, openUrl, onStep, pasted: opts.clientSecretStdin ? undefined : (accept) => readLines(f.io.stdin, accept) },
    });
    signingIn.catch(() => {}); // after Ctrl-C it ends by itself (callback server closed, polling stopped)
    const result = await Promise.race([signingIn, interrupted]);
    if (typeof result === 'number') {
      reporter.fail();
      await reporter.close();
      line(f.io.stderr, 'Sign-in cancelled.');
      return CANCELLED;
    }
    reporter.done({
      url: target.url,
      account: describeAccount(result.record.account),
      scopes: result.record.token.scopes.join(' ') || '(none)',
      expiry: describeExpiry(result.record.token.expiresAt, result.record.token.hasRefreshToken, f.clock.now()),
      where: signIns.describeStore(result.record.store),
    });
    return ExitCode.ok;
  } catch (err) {
    reporter.fail();
    if (isAppError(err, Code.NO_SIGN_IN_NEEDED)) {
      await reporter.close();
      line(f.io.stderr, `${err.message}.`);
      return ExitCode.ok;
    }
    throw err;
  } finally {
    stopListening();
    await reporter.close();
    http.close();
  }
}

/** Hands each line typed or piped on stdin to `accept` until stopped; stdin at EOF is simply done. */
function readLines(stdin: Readable, accept: (line: string) => void): () => void {
  const lines = createInterface({ input: stdin, terminal: false });
  lines.on('line', accept);
  return () => {
    lines.close();
    stdin.pause();
  };
}

/** `--client-secret-stdin`: the secret piped in (a terminal would echo it, so one is refused). */
async function readSecret(f: Factory): Promise<string> {
  if (f.io.isTTY.stdin) {
    throw new AppError(Code.USAGE, '--client-secret-stdin reads the secret from a pipe, and stdin is a terminal', {
      hint: 'Pipe it in: printf %s "$SECRET" | appwrite-mcp login --client-secret-stdin …  (or set APPWRITE_MCP_CLIENT_SECRET)',
    });
  }
  const chunks: Buffer[] = [];
  for await (const chunk of f.io.stdin) chunks.push(Buffer.from(chunk as Buffer));
  const secret = Buffer.concat(chunks).toString('utf8').trim();
  if (!secret) throw new AppError(Code.USAGE, '--client-secret-stdin: nothing was piped in');
  return secret;
}

/** ink on a terminal; plain lines otherwise (CI, pipes, MCP clients). */
async function createReporter(f: Factory, url: string, timeoutMs: number): Promise<LoginReporter> {
  if (f.io.isTTY.stderr && !f.env.CI) {
    const { createInkReporter } = await import('../ui/login-view.js');
    return createInkReporter(f.io.stderr as NodeJS.WriteStream, timeoutMs);
  }
  const { createPlainReporter } = await import('../ui/login-reporter.js');
  return createPlainReporter(url, (text) => line(f.io.stderr, text));
}
