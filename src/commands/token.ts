// `appwrite-mcp token`: a fresh access token on stdout for scripts (curl, other tools), refreshed
// first when it is due, exactly as the proxy would (under the same lock). Never opens a browser.
import { Code, ExitCode, isAppError } from '../errors.js';
import { loginCommand, resolveTarget } from '../target.js';
import { signInPlan, type AuthFlags } from './auth-flags.js';
import { authOf, commandLogger, line, type CommonOptions, type Factory } from './factory.js';

export interface TokenOptions extends CommonOptions, AuthFlags {
  url?: string;
  header?: string[];
  headerFile?: string;
  profile?: string;
}

/** Waits no longer than this for a refresh (the AS, another copy's lock). */
const TOKEN_WAIT_MS = 30_000;

export async function run(opts: TokenOptions, f: Factory): Promise<number> {
  const target = resolveTarget(opts, f.env);
  const plan = signInPlan(opts, f.env);
  const logger = commandLogger(opts, f);
  const http = f.http();
  const auth = authOf(f, { logger, signIns: f.signIns(logger, opts.store), http });
  const authorizer = await auth.authorizer({ target, plan, allowBrowser: false, holdMs: TOKEN_WAIT_MS });
  try {
    const token = await authorizer.getToken();
    if (token === undefined) {
      line(f.io.stderr, `appwrite-mcp: not signed in to ${target.url} (or the sign-in has expired and cannot be refreshed)\n  Run: ${loginCommand(target)}`);
      return ExitCode.notSignedIn;
    }
    line(f.io.stdout, token);
    const presented = await authorizer.present(token, 'POST', new URL(target.url));
    if (presented.headers.authorization?.startsWith('DPoP ')) {
      // RFC 9449: the server takes this token only with a proof signed by the sign-in's key, which never leaves the keychain.
      line(f.io.stderr, `appwrite-mcp: this access token is DPoP-bound to the key of this sign-in (kept beside the refresh token, never printed): ${target.url} refuses it without a DPoP proof signed by that key, so it is useless on its own (curl with "Authorization: Bearer" gets 401). Send requests through the proxy (appwrite-mcp --url ${target.url}), or sign in with --no-dpop for a plain bearer token.`);
    }
    return ExitCode.ok;
  } catch (err) {
    if (isAppError(err, Code.SIGN_IN_REQUIRED)) {
      line(f.io.stderr, `appwrite-mcp: ${err.message}`);
      return ExitCode.notSignedIn;
    }
    throw err;
  } finally {
    await authorizer.close();
    http.close();
  }
}
