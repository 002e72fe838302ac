// How appwrite-mcp authenticates as an OAuth client at the token and revocation endpoints
// (RFC 6749 §2.3, OAuth 2.1 §2.4, RFC 7523 §2.2): as a public client (`none`), with a secret in a
// Basic header or in the body, or with a private-key JWT. The method is the one the registration
// returned (or the pre-registered client was given).
import * as oauth from 'oauth4webapi';
import { AppError, Code } from '../errors.js';
import type { ClientAuthMethod, ClientRecord } from '../store/types.js';

export interface ClientCredentials {
  client: ClientRecord;
  /** The client secret (client_secret_basic / client_secret_post). */
  secret?: string;
  /** The private key (private_key_jwt), as oauth4webapi takes it (a CryptoKey, or one with its `kid`). */
  privateKey?: Parameters<typeof oauth.PrivateKeyJwt>[0];
}

/** oauth4webapi's view of the client and the authentication to use with it. */
export function clientAuth(c: ClientCredentials): { client: oauth.Client; auth: oauth.ClientAuth } {
  const method: ClientAuthMethod = c.client.authMethod ?? 'none';
  const client: oauth.Client = { client_id: c.client.clientId, token_endpoint_auth_method: method };
  switch (method) {
    case 'none':
      return { client, auth: oauth.None() };
    case 'client_secret_basic':
      return { client, auth: basicAuth(c.client.clientId, requireSecret(c)) };
    case 'client_secret_post':
      return { client, auth: oauth.ClientSecretPost(requireSecret(c)) };
    case 'private_key_jwt':
      if (!c.privateKey) throw new AppError(Code.USAGE, `client ${c.client.clientId} authenticates with a private key (private_key_jwt), and none was given`, { hint: 'Pass --private-key-file <pkcs8.pem>.' });
      return { client, auth: oauth.PrivateKeyJwt(c.privateKey) };
  }
}

function requireSecret(c: ClientCredentials): string {
  if (c.secret === undefined) {
    throw new AppError(Code.USAGE, `client ${c.client.clientId} authenticates with a secret (${c.client.authMethod}), and none is available`, {
      hint: 'Set APPWRITE_MCP_CLIENT_SECRET (it is never read from the command line, which other users can see).',
    });
  }
  return c.secret;
}

/**
 * client_secret_basic as RFC 6749 §2.3.1 writes it: id and secret form-encoded, joined by ":",
 * base64. (oauth4webapi's own encoder also escapes "-", "_", ".", "~", which many servers do not
 * decode back: a client id "pre-registered-client" would arrive as "pre%2Dregistered%2Dclient".)
 *
 * `client_id` goes in the body too, as the MCP TypeScript SDK's client sends it: the MCP Python
 * SDK's token and revocation endpoints (mcp/server/auth/middleware/client_auth.py, used by its
 * examples and FastMCP) read the client from the body first ("Missing client_id" without it) and
 * check that the Basic header names the same one. RFC 6749 §3.2.1 lets a client identify itself
 * so; it is not a second authentication method (the secret is only in the header).
 */
function basicAuth(clientId: string, secret: string): oauth.ClientAuth {
  const credentials = Buffer.from(`${formEncode(clientId)}:${formEncode(secret)}`).toString('base64');
  return (_as, _client, body, headers) => {
    headers.set('authorization', `Basic ${credentials}`);
    body.set('client_id', clientId);
  };
}

function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

/**
 * The method to register with (RFC 7591 §2): `none` when the AS allows it (or says nothing), else
 * a secret in a Basic header, else in the body.
 */
export function methodToRequest(as: oauth.AuthorizationServer): ClientAuthMethod {
  const supported = as.token_endpoint_auth_methods_supported;
  if (!Array.isArray(supported) || supported.includes('none')) return 'none';
  for (const m of ['client_secret_basic', 'client_secret_post'] as const) if (supported.includes(m)) return m;
  return 'none';
}

/**
 * The method to use after registration: what the AS registered, else (a secret came back without
 * one) the first secret method it supports, RFC 8414's default being client_secret_basic.
 */
export function methodRegistered(as: oauth.AuthorizationServer, registered: unknown, gotSecret: boolean): ClientAuthMethod {
  if (registered === 'none' || registered === 'client_secret_basic' || registered === 'client_secret_post' || registered === 'private_key_jwt') return registered;
  if (!gotSecret) return 'none';
  const supported = as.token_endpoint_auth_methods_supported;
  if (Array.isArray(supported) && !supported.includes('client_secret_basic') && supported.includes('client_secret_post')) return 'client_secret_post';
  return 'client_secret_basic';
}
