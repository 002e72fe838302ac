// When a sign-in binds its tokens to a DPoP key (RFC 9449; MCP SEP-1932), and the key it binds
// them to: one new ES256 key pair per sign-in, whose thumbprint goes in the authorization request
// (`dpop_jkt`, §10) and whose proofs go with every token request (§5).
//
// `auto` (the default) binds when the authorization server offers ES256 proofs
// (`dpop_signing_alg_values_supported`, §5.1) AND the MCP server shows it takes DPoP-bound tokens
// (a DPoP challenge in its 401, or its protected-resource metadata says so). The authorization
// server's word alone is not enough: oidc-provider, among others, advertises DPoP by default, and
// a server behind it that knows only Bearer would refuse every bound token, a sign-in loop.
// `require` (--dpop) refuses to sign in without a binding; `off` (--no-dpop) never binds.
import type * as oauth from 'oauth4webapi';
import { AppError, Code } from '../errors.js';
import type { Logger } from '../log.js';
import type { DpopBinding } from '../store/types.js';
import { asSupportsDpop, DPOP_ALG, DpopKey } from './dpop.js';

/** `--dpop` (require), `--no-dpop` (off), or neither (auto). */
export type DpopMode = 'auto' | 'require' | 'off';

/** A sign-in's key: the key, the string that keeps it in the secret store, and oauth4webapi's handle (it learns the AS's nonces). */
export interface SignInKey {
  key: DpopKey;
  stored: string;
  handle: oauth.DPoPHandle;
}

/**
 * The key this sign-in binds its tokens to, or undefined when it does not bind them. Throws AppError
 * DPOP_UNSUPPORTED when `mode` is require and the authorization server does not offer ES256.
 */
export async function signInKey(mode: DpopMode = 'auto', as: oauth.AuthorizationServer, serverTakesDpop: boolean, logger: Logger): Promise<SignInKey | undefined> {
  if (mode === 'off') return undefined;
  const offered = asSupportsDpop(as);
  if (mode === 'require' && !offered) {
    throw new AppError(Code.DPOP_UNSUPPORTED, `--dpop: the authorization server ${as.issuer} does not offer DPoP with ${DPOP_ALG} (its dpop_signing_alg_values_supported is ${JSON.stringify(as.dpop_signing_alg_values_supported ?? null)})`, {
      hint: 'Leave out --dpop to sign in with bearer tokens.',
    });
  }
  if (mode === 'auto' && !(offered && serverTakesDpop)) {
    if (offered || serverTakesDpop) {
      logger.debug(offered
        ? `${as.issuer} offers DPoP, but the MCP server shows no sign of taking DPoP-bound tokens: bearer tokens (--dpop binds them anyway)`
        : `the MCP server takes DPoP-bound tokens, but ${as.issuer} does not offer DPoP with ${DPOP_ALG}: bearer tokens`);
    }
    return undefined;
  }
  const { key, stored } = await DpopKey.generate();
  logger.debug(`binding the tokens to a new DPoP key (${DPOP_ALG}, thumbprint ${key.thumbprint})`);
  return { key, stored, handle: key.handle() };
}

/**
 * What the store keeps of the key once the tokens came back. The AS may answer `token_type: Bearer`
 * even to a request with a proof (RFC 9449 §5): the key is kept all the same (its refresh token may
 * be bound), and under `require` such tokens are refused.
 */
export function keptBinding(k: SignInKey, response: oauth.TokenEndpointResponse, mode: DpopMode = 'auto', issuer: string): DpopBinding & { stored: string } {
  if (mode === 'require' && response.token_type !== 'dpop') {
    throw new AppError(Code.DPOP_UNSUPPORTED, `--dpop: ${issuer} answered the request with its DPoP proof with a ${response.token_type} token, not a DPoP-bound one`, {
      hint: 'Leave out --dpop to sign in with bearer tokens.',
    });
  }
  return { alg: k.key.alg, jkt: k.key.thumbprint, stored: k.stored };
}
