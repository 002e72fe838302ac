// Client authentication and registration against a real (tiny) HTTP authorization server: what
// real ASes answer (a secret without an expiry, a method or none, an error) and what goes on the wire.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import * as oauth from 'oauth4webapi';
import { clientAuth, methodRegistered, methodToRequest } from '../../src/auth/client-auth.js';
import { registerClient } from '../../src/auth/registration.js';
import { HttpClient } from '../../src/http/client.js';
import { silentLogger } from '../../src/log.js';

let server: Server | undefined;
const http = new HttpClient({});
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** An AS whose /register answers `answer` and records what it was sent. */
async function as(answer: { status: number; body: unknown }, metadata: Partial<oauth.AuthorizationServer> = {}) {
  const seen: Array<{ headers: IncomingMessage['headers']; body: string }> = [];
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      seen.push({ headers: req.headers, body });
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const meta: oauth.AuthorizationServer = { issuer: origin, authorization_endpoint: `${origin}/authorize`, token_endpoint: `${origin}/token`, registration_endpoint: `${origin}/register`, ...metadata };
  return { meta, seen };
}

const ctx = { fetch: http.fetch, logger: silentLogger, requestTimeoutMs: 5000 };

describe('dynamic client registration', () => {
  it('takes a client_secret without client_secret_expires_at as never expiring, and uses Basic with it', async () => {
    const a = await as({ status: 201, body: { client_id: 'test-client-id', client_secret: 'test-client-secret', redirect_uris: ['http://127.0.0.1:1/callback'] } });
    const { client, secret } = await registerClient(ctx, a.meta, 'http://127.0.0.1:1/callback');
    expect(client).toMatchObject({ clientId: 'test-client-id', method: 'dcr', authMethod: 'client_secret_basic', hasSecret: true });
    expect(client.secretExpiresAt).toBeUndefined();
    expect(secret).toBe('test-client-secret');
    expect(JSON.parse(a.seen[0]!.body)).toMatchObject({ application_type: 'native', token_endpoint_auth_method: 'none', redirect_uris: ['http://127.0.0.1:1/callback'] });
  });

  it('asks for the method the AS lists, and uses the one it registered', async () => {
    const a = await as({ status: 201, body: { client_id: 'c', client_secret: 's', client_secret_expires_at: 0, token_endpoint_auth_method: 'client_secret_post' } }, { token_endpoint_auth_methods_supported: ['client_secret_post'] });
    const { client } = await registerClient(ctx, a.meta, 'http://127.0.0.1:1/callback');
    expect(JSON.parse(a.seen[0]!.body).token_endpoint_auth_method).toBe('client_secret_post');
    expect(client.authMethod).toBe('client_secret_post');
  });

  it('reports the AS\'s error, and an answer without client_id', async () => {
    const refused = await as({ status: 400, body: { error: 'invalid_client_metadata', error_description: 'redirect_uris must be https' } });
    await expect(registerClient(ctx, refused.meta, 'http://127.0.0.1:1/callback')).rejects.toMatchObject({ code: 'OAUTH_REGISTRATION_FAILED', message: expect.stringContaining('invalid_client_metadata: redirect_uris must be https') });
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    const empty = await as({ status: 201, body: { client_secret: 'x' } });
    await expect(registerClient(ctx, empty.meta, 'http://127.0.0.1:1/callback')).rejects.toMatchObject({ code: 'OAUTH_REGISTRATION_FAILED', message: expect.stringContaining('without a "client_id"') });
  });
});

describe('client authentication', () => {
  it('chooses what to register with and what to use', () => {
    const base = { issuer: 'https://as', authorization_endpoint: 'https://as/a', token_endpoint: 'https://as/t' };
    expect(methodToRequest(base)).toBe('none');
    expect(methodToRequest({ ...base, token_endpoint_auth_methods_supported: ['client_secret_basic', 'none'] })).toBe('none');
    expect(methodToRequest({ ...base, token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_post'] })).toBe('client_secret_post');
    expect(methodRegistered(base, undefined, false)).toBe('none');
    expect(methodRegistered(base, undefined, true)).toBe('client_secret_basic'); // RFC 8414 default
    expect(methodRegistered({ ...base, token_endpoint_auth_methods_supported: ['client_secret_post'] }, undefined, true)).toBe('client_secret_post');
    expect(methodRegistered(base, 'client_secret_post', true)).toBe('client_secret_post');
  });

  it('Basic: form-encodes id and secret (RFC 6749 §2.3.1, WHATWG form encoding: "-", "_", "." stay as they are)', async () => {
    const headers = new Headers();
    const body = new URLSearchParams();
    const { client, auth } = clientAuth({ client: { issuer: 'x', clientId: 'pre-registered_client.v1~', method: 'preregistered', redirectUris: [], registeredAt: 0, authMethod: 'client_secret_basic' }, secret: 'p@ss:word é' });
    await auth({ issuer: 'x' }, client, body, headers);
    const decoded = Buffer.from(headers.get('authorization')!.replace(/^Basic /, ''), 'base64').toString();
    expect(decoded).toBe('pre-registered_client.v1%7E:p%40ss%3Aword+%C3%A9');
    // client_id in the body too (the MCP Python SDK's token endpoint requires it); the secret only in the header.
    expect([...body]).toEqual([['client_id', 'pre-registered_client.v1~']]);
  });

  it('refuses to authenticate with a secret it does not have, naming the variable', () => {
    expect(() => clientAuth({ client: { issuer: 'x', clientId: 'c', method: 'preregistered', redirectUris: [], registeredAt: 0, authMethod: 'client_secret_post' } }))
      .toThrow(expect.objectContaining({ code: 'CLI_USAGE', hint: expect.stringContaining('APPWRITE_MCP_CLIENT_SECRET') }));
  });
});
