// Sign-ins without a person, for CI and servers: the client credentials grant (OAuth 2.1 §4.2,
// authenticated with a secret or a private-key JWT, RFC 7523 §2.2), and enterprise-managed
// authorization (SEP-990, "cross-app access"): an ID token from the enterprise IdP is exchanged at
// the IdP for an ID-JAG (RFC 8693 token exchange), which the MCP server's AS takes as a JWT bearer
// grant (RFC 7523 §2.1). Tokens are kept like the browser ones; there is usually no refresh token,
// so the grant simply runs again when the token runs out.
import { createPrivateKey, webcrypto } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as oauth from 'oauth4webapi';
import type { AuthChallenge } from '../authorization.js';
import { AppError, Code, errorMessage } from '../errors.js';
import { unreachable } from '../http/client.js';
import { registerSecret } from '../log.js';
import { parseSecureUrl } from '../net.js';
import type { ClientAuthMethod, ClientRecord, Target } from '../store/types.js';
import { clientAuth, type ClientCredentials } from './client-auth.js';
import { keptBinding, signInKey, type DpopMode } from './dpop-binding.js';
import { withDpopNonceRetry } from './dpop-requests.js';
import { type AuthContext, oauthErrorText, readBody, requestOptions } from './oauth.js';
import { checkIssuerPin, recordIssuerPin } from './pinning.js';
import { chooseScopes } from './scopes.js';
import { discoverForSignIn, type SignInDeps, type SignInResult } from './sign-in.js';
import { tokensFrom } from './tokens.js';

/** Enterprise-managed authorization: where the ID token is exchanged, and as which IdP client. */
export interface IdpExchange {
  tokenEndpoint: string;
  clientId: string;
  clientSecret?: string;
  /** The user's ID token from the enterprise IdP (APPWRITE_MCP_IDP_ID_TOKEN). */
  idToken: string;
}

export interface MachineSignInOptions {
  target: Target;
  /** `--resource` or false (`--no-resource`). */
  resource?: string | false;
  challenge?: AuthChallenge;
  scopes?: string[];
  clientId: string;
  clientSecret?: string;
  /** `--issuer`: the authorization server this client belongs to (auth/pinning.ts). */
  issuer?: string;
  /** PKCS#8 PEM file of the private key for private_key_jwt. */
  privateKeyFile?: string;
  /** Set: cross-app access; unset: the client credentials grant. */
  idp?: IdpExchange;
  /** `--dpop` / `--no-dpop` (auth/dpop-binding.ts). */
  dpop?: DpopMode;
}

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const ID_JAG = 'urn:ietf:params:oauth:token-type:id-jag';
const ID_TOKEN = 'urn:ietf:params:oauth:token-type:id_token';

export async function machineSignIn(deps: SignInDeps, o: MachineSignInOptions): Promise<SignInResult> {
  const { ctx, signIns } = deps;
  const found = await discoverForSignIn(ctx, o.target, o.challenge);
  const { as } = found;
  await checkIssuerPin(signIns.registrations, o, as, o.target.url);
  // A machine asks only for what the server needs: no offline_access or OpenID scopes.
  const scopes = o.scopes ?? chooseScopes({ challengeScope: found.challengeScope, resourceScopes: found.scopesSupported });
  const store = await signIns.chooseStore();
  const resource = o.resource === false ? undefined : o.resource ?? found.resource;
  const params: Record<string, string> = {};
  if (resource !== undefined) params.resource = resource;
  if (scopes.length) params.scope = scopes.join(' ');
  const credentials = await machineCredentials(as, o);
  const { client, auth } = clientAuth(credentials);
  const grant = o.idp ? 'ID-JAG' : 'client credentials';
  ctx.logger.debug(`signing in to ${o.target.url} with the ${grant} grant as client ${o.clientId}`);
  const dpop = await signInKey(o.dpop, as, found.takesDpop, ctx.logger);
  const options = { ...requestOptions(ctx, as.token_endpoint), DPoP: dpop?.handle };

  const jag = o.idp && await exchangeIdToken(ctx, o.idp, as.issuer, resource ?? found.resource, scopes);
  let response: oauth.TokenEndpointResponse;
  try {
    // A DPoP nonce challenge (RFC 9449 §8) is answered once; the ID-JAG is not spent by it (refused before the grant).
    response = await withDpopNonceRetry(async () => {
      let res: Response;
      try {
        res = jag
          ? await oauth.genericTokenEndpointRequest(as, client, auth, JWT_BEARER, { assertion: jag, ...params }, options)
          : await oauth.clientCredentialsGrantRequest(as, client, auth, params, options);
      } catch (err) {
        throw unreachable(as.token_endpoint!, err);
      }
      return jag ? oauth.processGenericTokenEndpointResponse(as, client, res) : oauth.processClientCredentialsResponse(as, client, res);
    });
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError(Code.TOKEN_EXCHANGE_FAILED, `the ${grant} grant at ${as.token_endpoint} failed: ${oauthErrorText(err)}`, { cause: err });
  }
  const tokens = tokensFrom(response, { scopes });
  const binding = dpop && keptBinding(dpop, response, o.dpop, as.issuer);
  const record = await signIns.records.save({ target: o.target, resource: resource ?? found.resource, noResource: resource === undefined, as, client: credentials.client, clientSecret: o.clientSecret, tokens, dpop: binding }, store);
  await recordIssuerPin(signIns.registrations, o, as);
  return { record, tokens, ...(dpop ? { dpopKey: dpop.key } : {}) };
}

async function machineCredentials(as: oauth.AuthorizationServer, o: MachineSignInOptions): Promise<ClientCredentials> {
  const privateKey = o.privateKeyFile ? await loadPrivateKey(o.privateKeyFile) : undefined;
  const supported = as.token_endpoint_auth_methods_supported;
  const authMethod: ClientAuthMethod = privateKey
    ? 'private_key_jwt'
    : o.clientSecret === undefined
      ? 'none'
      : Array.isArray(supported) && !supported.includes('client_secret_basic') && supported.includes('client_secret_post') ? 'client_secret_post' : 'client_secret_basic';
  const client: ClientRecord = { issuer: as.issuer, clientId: o.clientId, method: 'preregistered', redirectUris: [], registeredAt: Date.now(), authMethod };
  return { client, secret: o.clientSecret, privateKey };
}

/** A PKCS#8 (or PKCS#1 / SEC1) PEM private key as a WebCrypto key for JWT client assertions. */
export async function loadPrivateKey(path: string): Promise<webcrypto.CryptoKey> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (err) {
    throw new AppError(Code.USAGE, `cannot read the private key file ${path}: ${errorMessage(err)}`);
  }
  let key;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new AppError(Code.USAGE, `${path} is not a PEM private key: ${errorMessage(err)}`);
  }
  const der = key.export({ format: 'der', type: 'pkcs8' });
  const details = key.asymmetricKeyDetails ?? {};
  const algorithm = key.asymmetricKeyType === 'ec'
    ? { name: 'ECDSA', namedCurve: details.namedCurve === 'secp384r1' ? 'P-384' : details.namedCurve === 'secp521r1' ? 'P-521' : 'P-256' }
    : key.asymmetricKeyType === 'rsa'
      ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
      : key.asymmetricKeyType === 'ed25519'
        ? { name: 'Ed25519' }
        : undefined;
  if (!algorithm) throw new AppError(Code.USAGE, `${path} holds a ${key.asymmetricKeyType} key; private_key_jwt takes EC (P-256/384/521), RSA or Ed25519 keys`);
  return webcrypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign']);
}

/**
 * SEP-990 step 1: RFC 8693 token exchange at the IdP, the ID token for an Identity Assertion JWT
 * Authorization Grant (ID-JAG) whose audience is the MCP server's AS and whose resource is the
 * MCP server.
 */
async function exchangeIdToken(ctx: AuthContext, idp: IdpExchange, audience: string, resource: string, scopes: string[]): Promise<string> {
  parseSecureUrl(idp.tokenEndpoint, 'IdP token endpoint (--idp-token-endpoint)');
  const body = new URLSearchParams({
    grant_type: TOKEN_EXCHANGE,
    requested_token_type: ID_JAG,
    audience,
    resource,
    subject_token: idp.idToken,
    subject_token_type: ID_TOKEN,
    client_id: idp.clientId,
  });
  if (scopes.length) body.set('scope', scopes.join(' '));
  if (idp.clientSecret !== undefined) body.set('client_secret', idp.clientSecret);
  let res: Response;
  try {
    res = await ctx.fetch(idp.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body,
      signal: AbortSignal.timeout(ctx.requestTimeoutMs),
    });
  } catch (err) {
    throw unreachable(idp.tokenEndpoint, err);
  }
  const text = await readBody(res, idp.tokenEndpoint);
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // reported below
  }
  if (res.status !== 200 || typeof json.access_token !== 'string') {
    const detail = typeof json.error === 'string' ? `${json.error}${typeof json.error_description === 'string' ? `: ${json.error_description}` : ''}` : `HTTP ${res.status}`;
    throw new AppError(Code.TOKEN_EXCHANGE_FAILED, `the IdP at ${idp.tokenEndpoint} did not exchange the ID token for an ID-JAG: ${detail}`, { cause: json });
  }
  if (json.issued_token_type !== undefined && json.issued_token_type !== ID_JAG) {
    throw new AppError(Code.TOKEN_EXCHANGE_FAILED, `the IdP at ${idp.tokenEndpoint} issued a ${String(json.issued_token_type)}, not an ID-JAG`, { cause: { issued_token_type: json.issued_token_type } });
  }
  registerSecret(json.access_token);
  return json.access_token;
}
