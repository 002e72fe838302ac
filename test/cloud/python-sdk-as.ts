// An authorization server that behaves like the MCP Python SDK's auth module (`mcp/server/auth`),
// on which its simple-auth example and FastMCP's in-memory OAuth provider are built. Reproduced
// from modelcontextprotocol/python-sdk (main, 57394b0), file by file:
//   - routes.py `build_metadata`: token_endpoint_auth_methods_supported ["client_secret_post",
//     "client_secret_basic"] (no "none"), endpoints /authorize /token /register /revoke under the
//     issuer, which Pydantic's AnyHttpUrl writes with a trailing slash.
//   - handlers/register.py: no method asked → client_secret_post; private_key_jwt refused; a
//     64-hex-digit secret for every method but "none", with client_secret_expires_at 0; grant_types
//     must include authorization_code, response_types "code".
//   - middleware/client_auth.py `ClientAuthenticator`: `client_id` is read from the form body first
//     ("Missing client_id" without it); for client_secret_basic the Basic header must be there and its
//     id (percent-decoded) must equal the body's ("Client ID mismatch in Basic auth"); for
//     client_secret_post the secret is the body's; any failure is 401 invalid_client.
//   - handlers/token.py: every grant's form requires client_id (Pydantic models); refresh tokens of
//     another client or unknown ones are invalid_grant "refresh token does not exist".
//   - handlers/revoke.py: RevocationRequest has `client_secret: str | None` without a default, which
//     Pydantic v2 makes a required field: a revocation without client_secret in the body is 400.
//   - handlers/authorize.py + an in-memory provider (FastMCP's): PKCE S256 required, scopes checked
//     against the client's registered scope (default_scopes when it registered none), approved at once.
// Tokens are JWTs signed by this server, so that the local cloud's MCP server can verify them.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import express, { type Request, type Response } from 'express';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { TEST_USER } from './accounts.js';
import { close, listen } from './http-server.js';

interface Client {
  client_id: string;
  client_secret?: string;
  token_endpoint_auth_method: string;
  redirect_uris: string[];
  grant_types: string[];
  scope?: string;
}

interface Code { clientId: string; redirectUri: string; challenge: string; scopes: string[]; resource?: string; expiresAt: number }
interface Refresh { clientId: string; scopes: string[]; resource?: string }

/** What the token endpoint refused, in order (its `error_description`s), for tests to assert on. */
export interface PythonSdkStats { tokenErrors: string[]; refreshGrants: number; revocations: number; registrations: number }

export class PythonSdkAuthServer {
  readonly stats: PythonSdkStats = { tokenErrors: [], refreshGrants: 0, revocations: 0, registrations: 0 };
  private readonly clients = new Map<string, Client>();
  private readonly codes = new Map<string, Code>();
  private readonly refreshTokens = new Map<string, Refresh>();
  private key!: CryptoKey;
  publicJwk!: JWK;

  private constructor(private readonly server: Server, readonly port: number, private readonly scopes: string[], private readonly accessTokenTtl: number) {}

  static async start(o: { scopes: string[]; accessTokenTtl: number }): Promise<PythonSdkAuthServer> {
    const server = createServer();
    const as = new PythonSdkAuthServer(server, await listen(server), o.scopes, o.accessTokenTtl);
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    as.key = privateKey;
    as.publicJwk = { ...(await exportJWK(publicKey)), kid: 'python-sdk', alg: 'RS256', use: 'sig' };
    server.on('request', as.app());
    return as;
  }

  /** As Pydantic's AnyHttpUrl serialises it: with the trailing slash. */
  get issuer(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  stop(): Promise<void> {
    return close(this.server);
  }

  private app(): express.Express {
    const app = express();
    const base = this.issuer.replace(/\/$/, '');
    app.get('/.well-known/oauth-authorization-server', (_req, res) => {
      res.json({
        issuer: this.issuer, authorization_endpoint: `${base}/authorize`, token_endpoint: `${base}/token`,
        registration_endpoint: `${base}/register`, revocation_endpoint: `${base}/revoke`,
        scopes_supported: this.scopes, response_types_supported: ['code'], grant_types_supported: ['authorization_code', 'refresh_token'],
        token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'], code_challenge_methods_supported: ['S256'],
        revocation_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
      });
    });
    app.post('/register', express.json(), (req, res) => this.register(req, res));
    app.get('/authorize', (req, res) => this.authorize(req, res));
    app.post('/token', express.urlencoded({ extended: false }), (req, res) => void this.token(req, res));
    app.post('/revoke', express.urlencoded({ extended: false }), (req, res) => this.revoke(req, res));
    return app;
  }

  private register(req: Request, res: Response): void {
    const m = req.body as Partial<Client> & { response_types?: string[] };
    const method = m.token_endpoint_auth_method ?? 'client_secret_post';
    const refuse = (description: string) => void res.status(400).json({ error: 'invalid_client_metadata', error_description: description });
    if (method === 'private_key_jwt') return refuse("token_endpoint_auth_method 'private_key_jwt' is not supported");
    const grantTypes = m.grant_types ?? ['authorization_code', 'refresh_token'];
    if (!grantTypes.includes('authorization_code')) return refuse("grant_types must include 'authorization_code'");
    if (!(m.response_types ?? ['code']).includes('code')) return refuse("response_types must include 'code' for authorization_code grant");
    const client: Client = {
      client_id: randomUUID(), token_endpoint_auth_method: method, redirect_uris: m.redirect_uris ?? [], grant_types: grantTypes,
      scope: m.scope ?? this.scopes.join(' '),
      ...(method !== 'none' ? { client_secret: randomBytes(32).toString('hex') } : {}),
    };
    this.clients.set(client.client_id, client);
    this.stats.registrations++;
    const issuedAt = Math.floor(Date.now() / 1000);
    res.status(201).json({ ...m, ...client, client_id_issued_at: issuedAt, ...(client.client_secret ? { client_secret_expires_at: 0 } : {}) });
  }

  private authorize(req: Request, res: Response): void {
    const q = req.query as Record<string, string | undefined>;
    const client = q.client_id ? this.clients.get(q.client_id) : undefined;
    if (!client || !q.redirect_uri || !client.redirect_uris.includes(q.redirect_uri)) {
      res.status(400).json({ error: 'invalid_request', error_description: 'Client ID not found' });
      return;
    }
    const back = new URL(q.redirect_uri);
    const scopes = q.scope ? q.scope.split(' ') : [];
    const allowed = (client.scope ?? '').split(' ');
    const error = q.response_type !== 'code' ? 'unsupported_response_type'
      : !q.code_challenge || (q.code_challenge_method ?? 'S256') !== 'S256' ? 'invalid_request'
        : scopes.some((s) => !allowed.includes(s)) ? 'invalid_scope' : undefined;
    if (error) {
      back.searchParams.set('error', error);
    } else {
      const code = randomBytes(16).toString('hex');
      this.codes.set(code, { clientId: client.client_id, redirectUri: q.redirect_uri, challenge: q.code_challenge!, scopes, resource: q.resource, expiresAt: Date.now() + 300_000 });
      back.searchParams.set('code', code);
    }
    if (q.state) back.searchParams.set('state', q.state);
    res.redirect(302, back.href);
  }

  /** ClientAuthenticator.authenticate_request (middleware/client_auth.py). */
  private authenticate(req: Request): Client | string {
    const form = req.body as Record<string, string | undefined>;
    const clientId = form.client_id;
    if (!clientId) return 'Missing client_id';
    const client = this.clients.get(clientId);
    if (!client) return 'Invalid client_id';
    let secret: string | undefined;
    if (client.token_endpoint_auth_method === 'client_secret_basic') {
      const header = req.headers.authorization ?? '';
      if (!header.startsWith('Basic ')) return 'Missing or invalid Basic authentication in Authorization header';
      const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) return 'Invalid Basic authentication header';
      if (unquote(decoded.slice(0, colon)) !== clientId) return 'Client ID mismatch in Basic auth';
      secret = unquote(decoded.slice(colon + 1));
    } else if (client.token_endpoint_auth_method === 'client_secret_post') {
      secret = form.client_secret;
    }
    if (client.client_secret) {
      if (!secret) return 'Client secret is required';
      if (secret !== client.client_secret) return 'Invalid client_secret';
    }
    return client;
  }

  private async token(req: Request, res: Response): Promise<void> {
    const client = this.authenticate(req);
    const fail = (status: number, error: string, description: string) => {
      this.stats.tokenErrors.push(description);
      res.status(status).set('cache-control', 'no-store').json({ error, error_description: description });
    };
    if (typeof client === 'string') return fail(401, 'invalid_client', client);
    const form = req.body as Record<string, string | undefined>;
    if (!form.grant_type || !client.grant_types.includes(form.grant_type)) return fail(400, 'unsupported_grant_type', `Unsupported grant type (supported grant types are ${client.grant_types})`);
    if (form.grant_type === 'authorization_code') {
      const code = form.code ? this.codes.get(form.code) : undefined;
      if (!code || code.clientId !== form.client_id) return fail(400, 'invalid_grant', 'authorization code does not exist');
      this.codes.delete(form.code!);
      if (form.redirect_uri !== code.redirectUri) return fail(400, 'invalid_request', 'redirect_uri did not match the one used when creating auth code');
      if (createHash('sha256').update(form.code_verifier ?? '').digest('base64url') !== code.challenge) return fail(400, 'invalid_grant', 'incorrect code_verifier');
      res.set('cache-control', 'no-store').json(await this.issue(client, code.scopes, code.resource));
      return;
    }
    const refresh = form.refresh_token ? this.refreshTokens.get(form.refresh_token) : undefined;
    if (!refresh || refresh.clientId !== form.client_id) return fail(400, 'invalid_grant', 'refresh token does not exist');
    this.refreshTokens.delete(form.refresh_token!); // rotated: spent once
    this.stats.refreshGrants++;
    res.set('cache-control', 'no-store').json(await this.issue(client, refresh.scopes, form.resource ?? refresh.resource));
  }

  private revoke(req: Request, res: Response): void {
    const client = this.authenticate(req);
    if (typeof client === 'string') {
      res.status(401).json({ error: 'unauthorized_client', error_description: client });
      return;
    }
    const form = req.body as Record<string, string | undefined>;
    if (!form.token || !('client_secret' in form)) {
      res.status(400).json({ error: 'invalid_request', error_description: !form.token ? 'token: Field required' : 'client_secret: Field required' });
      return;
    }
    if (this.refreshTokens.get(form.token)?.clientId === client.client_id) this.refreshTokens.delete(form.token);
    this.stats.revocations++;
    res.status(200).json({});
  }

  private async issue(client: Client, scopes: string[], resource: string | undefined) {
    const refreshToken = randomBytes(32).toString('hex');
    this.refreshTokens.set(refreshToken, { clientId: client.client_id, scopes, resource });
    const accessToken = await new SignJWT({ scope: scopes.join(' '), client_id: client.client_id })
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'python-sdk' })
      .setIssuer(this.issuer).setSubject(TEST_USER.sub).setAudience(resource ?? this.issuer)
      .setIssuedAt().setExpirationTime(`${this.accessTokenTtl}s`).setJti(randomUUID())
      .sign(this.key);
    return { access_token: accessToken, token_type: 'Bearer', expires_in: this.accessTokenTtl, scope: scopes.join(' '), refresh_token: refreshToken };
  }
}

/** Python's urllib.parse.unquote: %XX only ("+" stays "+"). */
function unquote(text: string): string {
  return text.replace(/(%[0-9A-Fa-f]{2})+/g, (m) => decodeURIComponent(m));
}
