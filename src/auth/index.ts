// The one entry to the sign-in side: build the stored authorizer the proxy (and `token`, and doctor)
// take tokens from, run a sign-in now (`login`), and reach the token endpoint (`logout` revokes
// through it). Commands and doctor hand over their dependencies once and wire nothing into auth.
// Light on purpose: the OAuth modules (oauth4webapi) load only when a sign-in or a refresh needs them.
import type { Logger } from '../log.js';
import type { SignIns } from '../store/sign-ins.js';
import type { Target } from '../store/types.js';
import { systemClock, type Clock } from './clock.js';
import type { AuthContext } from './oauth.js';
import { runSignIn, type SignInPlan, type SignInRun } from './plan.js';
import type { SignInResult } from './sign-in.js';
import type { StoredAuthorizer } from './stored-authorizer.js';
import { oauthTokenEndpoint, type TokenEndpoint } from './token-endpoint.js';

export type { SignInPlan, SignInRun } from './plan.js';
export type { SignInResult, SignInStep } from './sign-in.js';
export type { StoredAuthorizer } from './stored-authorizer.js';
export type { RevocationOutcome, TokenEndpoint } from './token-endpoint.js';
export type { Clock } from './clock.js';

/** How long a browser sign-in started by the proxy may take. */
export const SIGN_IN_TIMEOUT_MS = 5 * 60_000;
/** After a browser sign-in the proxy started was not completed, no copy opens another for this long. */
const BROWSER_COOLDOWN_MS = 10 * 60_000;
/** Bound on every single request to the AS or the resource server during sign-in. */
const REQUEST_TIMEOUT_MS = 15_000;

export interface AuthDeps {
  /** The one HTTP layer's fetch (src/http/client.ts). */
  fetch: typeof fetch;
  signIns: SignIns;
  logger: Logger;
  clock?: Clock;
  /** Opens `url` in the user's browser; false when none could be opened (the URL is printed anyway). */
  openBrowser(url: string): Promise<boolean>;
  /** Where refreshes and revocations go; default: the AS's token endpoint through oauth4webapi. */
  tokenEndpoint?: TokenEndpoint;
  requestTimeoutMs?: number;
}

export interface AuthorizerOptions {
  target: Target;
  plan: SignInPlan;
  /** May this process open a browser sign-in by itself (the proxy without --no-browser)? */
  allowBrowser: boolean;
  /** How long a request waits for a sign-in or a refresh. */
  holdMs: number;
}

export class Auth {
  readonly ctx: AuthContext;
  readonly tokenEndpoint: TokenEndpoint;
  private readonly clock: Clock;

  constructor(private readonly d: AuthDeps) {
    this.clock = d.clock ?? systemClock;
    this.ctx = { fetch: d.fetch, logger: d.logger, requestTimeoutMs: d.requestTimeoutMs ?? REQUEST_TIMEOUT_MS, clock: this.clock };
    this.tokenEndpoint = d.tokenEndpoint ?? oauthTokenEndpoint(this.ctx, () => this.clock.now());
  }

  /** A sign-in now, saved (`login`). */
  signIn(plan: SignInPlan, run: SignInRun): Promise<SignInResult> {
    return runSignIn(plan, { ctx: this.ctx, signIns: this.d.signIns }, run);
  }

  /** The stored-sign-in authorizer: refreshes through the token endpoint, signs in through the plan. */
  async authorizer(o: AuthorizerOptions): Promise<StoredAuthorizer> {
    const { StoredAuthorizer } = await import('./stored-authorizer.js');
    const { logger } = this.d;
    return new StoredAuthorizer({
      signIns: this.d.signIns,
      target: o.target,
      logger,
      tokenEndpoint: this.tokenEndpoint,
      allowBrowser: o.allowBrowser,
      unattended: o.plan.unattended,
      holdMs: o.holdMs,
      signInTimeoutMs: SIGN_IN_TIMEOUT_MS,
      browserCooldownMs: BROWSER_COOLDOWN_MS,
      clock: this.clock,
      signIn: (scopes, challenge) => this.signIn(o.plan, {
        target: o.target, scopes, challenge,
        browser: {
          timeoutMs: SIGN_IN_TIMEOUT_MS,
          openUrl: async (authorizationUrl) => {
            const opened = await this.d.openBrowser(authorizationUrl);
            logger.info(`${opened ? 'opened the browser to sign in' : 'could not open a browser'}; finish signing in at: ${authorizationUrl}`);
          },
        },
      }),
    });
  }
}

/** What a workload authorizer is made of (--workload-jwt-file/--workload-jwt-env). */
export interface WorkloadAuthorizerRequest {
  target: Target;
  plan: SignInPlan & { workload: NonNullable<SignInPlan['workload']> };
  scopes?: string[];
  env: NodeJS.ProcessEnv;
}

/** Workload identity (SEP-1933): tokens from the JWT bearer grant, held in memory only. */
export async function workloadAuthorizer(auth: Auth, o: WorkloadAuthorizerRequest): Promise<import('./workload-authorizer.js').WorkloadAuthorizer> {
  const [{ WorkloadAuthorizer }, { WorkloadTokenReader }] = await Promise.all([import('./workload-authorizer.js'), import('./workload-identity.js')]);
  return new WorkloadAuthorizer({
    ctx: auth.ctx, target: o.target, reader: new WorkloadTokenReader(o.plan.workload, { env: o.env, now: () => auth.ctx.clock?.now() ?? Date.now() }),
    clientId: o.plan.clientId, scopes: o.scopes, resource: o.plan.resource, dpop: o.plan.dpop, clock: auth.ctx.clock ?? systemClock,
  });
}

export function createAuth(deps: AuthDeps): Auth {
  return new Auth(deps);
}
