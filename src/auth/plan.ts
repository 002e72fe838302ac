// What a sign-in is to be, as the command line asked for it (commands/auth-flags.ts reads the flags
// into a plan), and the one dispatch that runs it: the browser, `login --device-code`, or a grant
// without a person (client credentials, enterprise-managed cross-app access).
import type { AuthChallenge } from '../authorization.js';
import { AppError, Code } from '../errors.js';
import type { Target } from '../store/types.js';
import type { CallbackAddress } from './callback-server.js';
import type { DpopMode } from './dpop-binding.js';
import type { WorkloadTokenSource } from './workload-identity.js';
import type { SignInDeps, SignInResult, SignInStep } from './sign-in.js';

/** What the user says about the authorization request itself, whatever the grant. */
export interface RequestTweaks {
  resource?: string | false;
  authorizeParams?: Record<string, string>;
  callback?: CallbackAddress;
  /** `--dpop` (require) / `--no-dpop` (off); default auto (auth/dpop-binding.ts). */
  dpop?: DpopMode;
}

export interface SignInPlan extends RequestTweaks {
  /** True when no person is needed (client credentials, cross-app access): no browser, no hold. */
  unattended: boolean;
  /** The device authorization grant (a person, on any device) instead of the browser redirect. */
  device?: boolean;
  clientId?: string;
  clientSecret?: string;
  clientMetadataUrl?: string;
  /** The authorization server a pre-registered client is pinned to (`--issuer`, APPWRITE_MCP_ISSUER). */
  issuer?: string;
  privateKeyFile?: string;
  idp?: { tokenEndpoint: string; clientId: string; clientSecret?: string; idToken: string };
  /**
   * Workload identity (SEP-1933): the JWT bearer grant with the workload's token from this file or
   * variable, in the proxy only; nothing is stored (auth/workload-authorizer.ts).
   */
  workload?: WorkloadTokenSource;
}

export interface SignInRun {
  target: Target;
  /** Gives the sign-in up (Ctrl-C): the callback server closes, polling stops. */
  signal?: AbortSignal;
  challenge?: AuthChallenge;
  scopes?: string[];
  /** Browser sign-ins only. */
  browser?: { timeoutMs: number; openUrl(url: string): void | Promise<void>; onStep?(step: SignInStep): void; pasted?(accept: (line: string) => void): () => void };
  /** Device sign-ins only (`plan.device`): no `timeoutMs` waits until the code expires. */
  device?: { timeoutMs?: number; openUrl?(url: string): void | Promise<void>; onStep?(step: SignInStep): void };
}

/** Runs the sign-in the plan describes. The sign-in modules load only now (none at proxy start-up). */
export async function runSignIn(plan: SignInPlan, deps: SignInDeps, run: SignInRun): Promise<SignInResult> {
  if (plan.workload) throw new AppError(Code.USAGE, 'workload identity (--workload-jwt-file/--workload-jwt-env) signs in inside the proxy and keeps nothing: there is no sign-in to run ahead of it');
  const client = { clientId: plan.clientId, clientSecret: plan.clientSecret, clientMetadataUrl: plan.clientMetadataUrl, issuer: plan.issuer, dpop: plan.dpop };
  if (plan.unattended) {
    const { machineSignIn } = await import('./machine-sign-in.js');
    return machineSignIn(deps, {
      target: run.target, challenge: run.challenge, scopes: run.scopes, resource: plan.resource,
      ...client, clientId: plan.clientId!, privateKeyFile: plan.privateKeyFile, idp: plan.idp,
    });
  }
  if (plan.device) {
    const { deviceSignIn } = await import('./device-flow.js');
    const device = run.device ?? {};
    return deviceSignIn(deps, {
      target: run.target, challenge: run.challenge, scopes: run.scopes, resource: plan.resource, authorizeParams: plan.authorizeParams,
      ...client, timeoutMs: device.timeoutMs, openUrl: device.openUrl, onStep: device.onStep, signal: run.signal,
    });
  }
  const { signIn } = await import('./sign-in.js');
  const browser = run.browser!;
  return signIn(deps, {
    target: run.target, challenge: run.challenge, scopes: run.scopes,
    resource: plan.resource, authorizeParams: plan.authorizeParams, callback: plan.callback,
    ...client, timeoutMs: browser.timeoutMs, openUrl: browser.openUrl, onStep: browser.onStep, pasted: browser.pasted, signal: run.signal,
  });
}
