// `appwrite-mcp token`: a fresh access token on stdout for scripts (curl, other tools), refreshed
// first when it is due, exactly as the proxy would (under the same lock). Never opens a browser.
import { Code, ExitCode, isAppError } from '../errors.js';
import { resolveTarget } from '../target.js';
import { loginCommand } from '../target.js';
import { signInPlan, storedAuthorizer, type AuthFlags } from './auth-options.js';
import { createCommandContext, type CommonOptions } from './context.js';

export interface TokenOptions extends CommonOptions, AuthFlags {
  url?: string;
  header?: string[];
  profile?: string;
}

/** Waits no longer than this for a refresh (the AS, another copy's lock). */
const TOKEN_WAIT_MS = 30_000;

export async function runToken(opts: TokenOptions): Promise<number> {
  const target = resolveTarget(opts);
  const plan = signInPlan(opts, process.env);
  const { logger, http, ctx, signIns } = createCommandContext(opts);
  const authorizer = await storedAuthorizer({ deps: { ctx, signIns, logger }, target, plan, allowBrowser: false, holdMs: TOKEN_WAIT_MS });
  try {
    const token = await authorizer.getToken();
    if (token === undefined) {
      process.stderr.write(`appwrite-mcp: not signed in to ${target.url} (or the sign-in has expired and cannot be refreshed)\n  Run: ${loginCommand(target)}\n`);
      return ExitCode.notSignedIn;
    }
    process.stdout.write(`${token}\n`);
    return ExitCode.ok;
  } catch (err) {
    if (isAppError(err, Code.SIGN_IN_REQUIRED)) {
      process.stderr.write(`appwrite-mcp: ${err.message}\n`);
      return ExitCode.notSignedIn;
    }
    throw err;
  } finally {
    await authorizer.close();
    http.close();
  }
}
