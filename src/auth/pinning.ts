// A pre-registered client (`--client-id`, `--static-oauth-client-info`) belongs to one authorization
// server: its secret (or private key) must never go to another. Discovery follows the MCP server's
// 401, so a hostile server could name an authorization server of its own and receive the secret —
// unattended with `--client-credentials`. The client is pinned to an issuer: `--issuer`, else the
// issuer of its first successful sign-in, recorded with it. Discovery that names another issuer is
// refused before any request carries the client's credentials.
import type { AuthorizationServer } from 'oauth4webapi';
import { AppError, Code } from '../errors.js';

/** Where pins are kept (the registration cache). */
export interface IssuerPins {
  pinnedIssuer(clientId: string): Promise<string | undefined>;
  pinIssuer(clientId: string, issuer: string): Promise<void>;
}

export interface PinnedClient {
  clientId?: string;
  /** `--issuer`: the authorization server this client is registered with. */
  issuer?: string;
}

const same = (a: string, b: string) => a.replace(/\/+$/, '') === b.replace(/\/+$/, '');

/** Throws AppError OAUTH_CLIENT_ISSUER_MISMATCH when `as` is not the client's authorization server. */
export async function checkIssuerPin(pins: IssuerPins, client: PinnedClient, as: AuthorizationServer, serverUrl: string): Promise<void> {
  if (!client.clientId) return;
  const pinned = client.issuer ?? (await pins.pinnedIssuer(client.clientId));
  if (pinned === undefined || same(pinned, as.issuer)) return;
  const source = client.issuer !== undefined ? '--issuer' : 'the issuer of its first sign-in';
  throw new AppError(Code.CLIENT_ISSUER_MISMATCH, `client ${JSON.stringify(client.clientId)} belongs to the authorization server ${pinned} (${source}), but ${serverUrl} names ${as.issuer}: refusing to send the client's credentials there`, {
    hint: `If ${as.issuer} is where this client is registered, pass --issuer ${as.issuer}.`,
    cause: { expected: pinned, discovered: as.issuer },
  });
}

/** After a sign-in with a pre-registered client: the issuer it used is its pin from now on. */
export async function recordIssuerPin(pins: IssuerPins, client: PinnedClient, as: AuthorizationServer): Promise<void> {
  if (client.clientId) await pins.pinIssuer(client.clientId, as.issuer);
}
