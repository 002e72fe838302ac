// The proxy's source of tokens for a workload (MCP SEP-1933: CI jobs, servers): the JWT bearer
// grant (RFC 7523) with the token the workload's platform issues it (--workload-jwt-file, or
// --workload-jwt-env), read again whenever it rotates (workload-identity.ts). No browser, no
// registration, nothing stored: the access token (and the DPoP key, when the servers take DPoP)
// live in this process only, as SEP-1933 asks ("SHOULD avoid … persisting").
//
// A token is asked for when the server first answers 401 (its challenge says where), and again
// when the held one is due. A refused workload token is never sent again (SEP-1933; the
// conformance suite's auth/wif-jwt-bearer counts a second request as a failure): the next try
// waits for the platform to put a new one in place.
import { bearerPresentation, type AuthChallenge, type Authorizer, type Presentation } from '../authorization.js';
import { AppError, Code, isAppError } from '../errors.js';
import type { Target, Tokens } from '../store/types.js';
import type { Clock } from './clock.js';
import { keptBinding, signInKey, type DpopMode, type SignInKey } from './dpop-binding.js';
import { DpopResourceSigner } from './dpop-requests.js';
import type { Discovered } from './discovery.js';
import { isFresh, isUsable } from './freshness.js';
import { jwtBearerGrant } from './jwt-bearer-grant.js';
import type { AuthContext } from './oauth.js';
import { chooseScopes } from './scopes.js';
import { discoverForSignIn } from './sign-in.js';
import { tokensFrom } from './tokens.js';
import type { WorkloadTokenReader } from './workload-identity.js';

export interface WorkloadAuthorizerOptions {
  ctx: AuthContext;
  target: Target;
  reader: WorkloadTokenReader;
  /** `--client-id`: the client the workload is known by at the AS; none is sent without it. */
  clientId?: string;
  /** `--scope`: asked for as given; else the challenge's or the server's metadata's. */
  scopes?: string[];
  /** `--resource`, or false (`--no-resource`). */
  resource?: string | false;
  dpop?: DpopMode;
  clock: Clock;
}

export class WorkloadAuthorizer implements Authorizer {
  private held?: Tokens;
  private found?: Discovered;
  /** The DPoP key of this process (undefined: bearer tokens), chosen at the first grant. */
  private key?: { signIn?: SignInKey; signer?: DpopResourceSigner };
  /** The held access token is DPoP-bound (the AS may answer Bearer even to a request with a proof). */
  private heldBound = false;
  /** The last workload token the AS refused, and why: it is not sent again. */
  private refused?: { jwt: string; error: AppError };
  private running?: Promise<string>;

  constructor(private readonly o: WorkloadAuthorizerOptions) {}

  async getToken(): Promise<string | undefined> {
    const held = this.held;
    if (!held) return undefined; // the server's 401 says where to get one
    if (isFresh(held, this.o.clock.now())) return held.accessToken;
    try {
      return await this.exchange(undefined);
    } catch (err) {
      if (isUsable(held, this.o.clock.now())) return held.accessToken;
      throw err;
    }
  }

  async onUnauthorized(rejected: string | undefined, challenge: AuthChallenge): Promise<string> {
    const held = this.held;
    if (held && held.accessToken !== rejected && isUsable(held, this.o.clock.now())) return held.accessToken;
    return this.exchange(challenge);
  }

  async onInsufficientScope(_rejected: string | undefined, challenge: AuthChallenge): Promise<string> {
    throw new AppError(Code.STEP_UP_FAILED, `${this.o.target.url} needs the scope ${challenge.scope ? `"${challenge.scope}" ` : ''}that the workload's access token does not have (HTTP 403). Grant it to the workload at the authorization server, or pass --scope.`);
  }

  async whenReady(): Promise<void> {}

  async present(token: string, method: string, url: URL): Promise<Presentation> {
    const signer = this.key?.signer;
    if (!signer || !this.heldBound || this.held?.accessToken !== token) return bearerPresentation(token);
    return signer.sign(token, method, url);
  }

  /** One grant at a time: concurrent requests share it. */
  private exchange(challenge: AuthChallenge | undefined): Promise<string> {
    this.running ??= this.grant(challenge).finally(() => { this.running = undefined; });
    return this.running;
  }

  private async grant(challenge: AuthChallenge | undefined): Promise<string> {
    const { ctx, reader } = this.o;
    // Read first: an expired workload token fails here, before any request.
    const assertion = await reader.current();
    this.found ??= await discoverForSignIn(ctx, this.o.target, challenge);
    const { as } = this.found;
    if (this.refused?.jwt === assertion.jwt) throw this.refused.error;
    if (!this.key) {
      const signIn = await signInKey(this.o.dpop, as, this.found.takesDpop, ctx.logger);
      this.key = { signIn, signer: signIn && new DpopResourceSigner(signIn.key) };
    }
    const scopes = this.o.scopes ?? chooseScopes({ challengeScope: challenge?.scope ?? this.found.challengeScope, resourceScopes: this.found.scopesSupported });
    const resource = this.o.resource === false ? undefined : this.o.resource ?? this.found.resource;
    ctx.logger.debug(`signing in to ${this.o.target.url} with the workload identity token from ${reader.describe()} (JWT bearer grant${this.key.signIn ? ', DPoP' : ''})`);
    let response;
    try {
      response = await jwtBearerGrant(ctx, { as, clientId: this.o.clientId, assertion, resource, scopes, dpop: this.key.signIn?.handle });
    } catch (err) {
      if (isAppError(err, Code.TOKEN_EXCHANGE_FAILED)) this.refused = { jwt: assertion.jwt, error: err };
      throw err;
    }
    if (this.key.signIn) keptBinding(this.key.signIn, response, this.o.dpop, as.issuer);
    const tokens = tokensFrom(response, { scopes }, this.o.clock.now());
    // A bound token goes with proofs; a Bearer one (the AS did not bind it) as it is.
    this.heldBound = tokens.tokenType?.toLowerCase() === 'dpop';
    this.held = tokens;
    return tokens.accessToken;
  }
}
