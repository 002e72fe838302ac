// One OAuth 2.1 authorization server (an oidc-provider instance) for one issuer: the console
// issuer for the root MCP layout, or one per project for the per-project layout.
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { KoaContextWithOIDC, KoaMiddleware } from 'oidc-provider';
import { findAccount } from './accounts.js';
import { deviceCodePage, deviceConfirmPage, deviceDonePage, errorPage } from './pages.js';
import { errors, Provider } from './load-oidc-provider.js';
import { fetchClientMetadataDocument, type ClientMetadataDocuments } from './client-metadata.js';
import { MCP_SCOPE_MODEL, type ScopeModel } from './scopes.js';
import type { CloudStats, DevicePoll } from './stats.js';
import { tamperMiddleware, type Tamper } from './tamper.js';
import { TokenStore } from './token-store.js';

export interface IssuerOptions {
  name: string;              // 'console' or a project id
  issuer: string;            // http://127.0.0.1:ASPORT/v1/oauth2/<name>
  resource: string;          // the one MCP resource this issuer mints tokens for
  accessTokenTtl: number;
  refreshTokenTtl: number;
  tamper: Tamper;
  stats: CloudStats;
  /** How it treats its resource's scopes (default: mcp:read mcp:write, mcp:admin on request). */
  scopeModel?: ScopeModel;
  /** Accept Client ID Metadata Document URLs as client ids (default: no). */
  clientMetadataDocuments?: ClientMetadataDocuments;
  /** The device authorization grant (RFC 8628): its endpoint advertised, its pages served (default: no). */
  deviceFlow?: boolean;
  /** Lifetime of a device code in seconds (default 600, oidc-provider's). */
  deviceCodeTtl?: number;
  /**
   * Changes to the oidc-provider configuration before the provider is made (DPoP, static clients,
   * token formats: see dpop.ts), and what to do with the provider once made (grant types).
   */
  configure?: (configuration: Record<string, any>) => void;
  extend?: (provider: Provider) => void;
}

export interface Issuer {
  name: string;
  issuer: string;
  path: string;              // the issuer's path, where the provider is mounted
  resource: string;
  provider: Provider;
  tokens: TokenStore;
  publicJwks: { keys: JWK[] };
  /** Every device code poll of its token endpoint, in order. */
  devicePolls: DevicePoll[];
}

export async function createIssuer(o: IssuerOptions): Promise<Issuer> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = `${o.name}-${randomBytes(4).toString('hex')}`;
  const signing = { kid, alg: 'RS256', use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), ...signing };
  const publicJwk = { ...(await exportJWK(publicKey)), ...signing };
  const path = new URL(o.issuer).pathname;
  const tokens = new TokenStore();
  const scopeModel = o.scopeModel ?? MCP_SCOPE_MODEL;
  const cimd = o.clientMetadataDocuments;

  const configuration: Record<string, any> = {
    adapter: tokens.adapterClass(),
    jwks: { keys: [privateJwk] },
    cookies: {
      keys: [randomBytes(32).toString('base64url')],
      // All issuers share one host; distinct names keep their sessions apart.
      names: { session: `_session_${o.name}`, interaction: `_interaction_${o.name}`, resume: `_resume_${o.name}` },
    },
    findAccount,
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    scopes: ['openid', 'offline_access'],
    conformIdTokenClaims: false, // put email/name in the ID token, not only in userinfo
    renderError: (ctx: KoaContextWithOIDC, out: { error: string; error_description?: string }) => {
      ctx.type = 'html';
      ctx.body = errorPage(out.error, out.error_description);
    },
    responseTypes: ['code'],
    pkce: { required: () => true }, // oidc-provider 9 only knows S256, so plain is refused
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true }, // open DCR, no initial access token
      // A client may revoke only its own tokens (oidc-provider's default asks to be replaced).
      revocation: { enabled: true, allowedPolicy: (_ctx: unknown, client: { clientId: string }, token: { clientId?: string }) => token.clientId === client.clientId },
      userinfo: { enabled: true },
      // RFC 8628: `<issuer>/device/auth` for the device, `<issuer>/device` for the person, who then
      // goes through the same login and consent pages (interactions.ts) as a browser sign-in.
      deviceFlow: {
        enabled: o.deviceFlow === true,
        charset: 'base-20',
        mask: '****-****',
        userCodeInputSource: deviceCodeInput,
        userCodeConfirmSource: deviceCodeConfirm,
        successSource: async (ctx: KoaContextWithOIDC) => {
          ctx.type = 'html';
          ctx.body = deviceDonePage(true, 'You are signed in. The application on your device continues by itself; you can close this tab.');
        },
      },
      // Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): an https URL as
      // client_id; the document is fetched, checked (client-metadata.ts) and taken as a public native client.
      clientIdMetadataDocument: { enabled: cimd !== undefined, ack: 'draft-02' },
      resourceIndicators: {
        enabled: true,
        // Token and refresh requests without `resource` still get the JWT for the granted resource.
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx: unknown, indicator: string) => {
          if (URL.parse(indicator)?.href !== o.resource) throw new errors.InvalidTarget(`unknown resource ${indicator}`);
          // Here, after oidc-provider checked the client and its redirect_uri, the refusal of an
          // over-long scope (see scopeCap) becomes an error redirect to the client.
          const oidcCtx = ctx as KoaContextWithOIDC;
          const refusal = oidcCtx.oidc?.route === 'device_authorization'
            // The device authorization request (a POST, its body parsed by now) is capped the same way; its refusal is a JSON error.
            ? scopeCap(String(oidcCtx.oidc.params?.scope ?? ''), scopeModel)
            : oidcCtx.state[SCOPE_REFUSAL] as string | undefined;
          if (refusal && (oidcCtx.oidc?.route === 'authorization' || oidcCtx.oidc?.route === 'device_authorization')) throw new errors.InvalidScope(refusal);
          return {
            scope: scopeModel.resourceScopes.join(' '),
            audience: o.resource,
            accessTokenTTL: o.accessTokenTtl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    ...(cimd ? { fetch: (url: string | URL, init: RequestInit) => fetchClientMetadataDocument(String(url), init, cimd, o.stats) } : {}),
    rotateRefreshToken: true,
    ttl: {
      AccessToken: o.accessTokenTtl,
      RefreshToken: o.refreshTokenTtl,
      Grant: o.refreshTokenTtl,
      Session: o.refreshTokenTtl,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 3600,
      DeviceCode: o.deviceCodeTtl ?? 600,
    },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `${path}/interaction/${interaction.uid}` },
  };
  o.configure?.(configuration);
  const provider = new Provider(o.issuer, configuration);
  o.extend?.(provider);

  const devicePolls: DevicePoll[] = [];
  provider.use(standardBehaviour(o.stats, scopeModel, devicePolls));
  provider.use(tamperMiddleware(o.tamper));
  countEvents(provider, tokens, o.stats);

  return { name: o.name, issuer: o.issuer, path, resource: o.resource, provider, tokens, publicJwks: { keys: [publicJwk] }, devicePolls };
}

const SCOPE_REFUSAL = Symbol('scope refusal');
const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** oidc-provider's user-code page, also shown after a wrong, expired or used code, and after a refusal. */
async function deviceCodeInput(ctx: KoaContextWithOIDC, form: string, _out?: unknown, err?: Error & { userCode?: string }) {
  ctx.type = 'html';
  if (err?.name === 'AbortedError') {
    ctx.body = deviceDonePage(false, 'You did not allow the sign-in; the application on your device has been told. You can close this tab.');
    return;
  }
  const problems: Record<string, string> = {
    NoCodeError: 'Enter the code first.',
    NotFoundError: 'There is no sign-in waiting for that code; check it and try again.',
    ExpiredError: 'That code has expired; start the sign-in on your device again for a new one.',
    AlreadyUsedError: 'That code has already been used.',
  };
  ctx.body = deviceCodePage(form, err ? problems[err.name] ?? `The code could not be checked: ${err.message}` : undefined);
}

/** The code to compare with the device's, before login and consent. */
async function deviceCodeConfirm(ctx: KoaContextWithOIDC, form: string, client: { clientId: string; clientName?: string }, _deviceInfo: unknown, userCode: string) {
  ctx.type = 'html';
  ctx.body = deviceConfirmPage(form, client.clientName ?? client.clientId, userCode);
}

/** Request defaults and metadata additions that make oidc-provider look like Appwrite's AS. */
function standardBehaviour(stats: CloudStats, model: ScopeModel, devicePolls: DevicePoll[]): KoaMiddleware {
  return async (ctx, next) => {
    if (ctx.path === '/auth') {
      stats.authorizeRequests++;
      if (ctx.method === 'GET') {
        const refusal = scopeCap(new URLSearchParams(ctx.querystring).get('scope') ?? '', model);
        if (refusal && model.refusal === 'page') {
          ctx.status = 400;
          ctx.type = 'html';
          ctx.body = errorPage('invalid_scope', refusal);
          return;
        }
        if (refusal) ctx.state[SCOPE_REFUSAL] = refusal;
        normalizeAuthorizationRequest(ctx, model);
      }
    }
    await next();
    if (ctx.oidc?.route === 'token' && ctx.oidc.params?.grant_type === DEVICE_CODE_GRANT) {
      const error = (ctx.body as { error?: unknown } | undefined)?.error;
      devicePolls.push({ at: Date.now(), answer: typeof error === 'string' ? error : 'tokens' });
    }
    if (ctx.oidc?.route === 'discovery') {
      const metadata = ctx.body as { scopes_supported: string[] };
      metadata.scopes_supported = [...new Set([...metadata.scopes_supported, ...model.resourceScopes])];
    }
  };
}

/** Why a request's `scope`, as the client sent it, is over the cap (undefined: it is not). */
function scopeCap(scope: string, model: ScopeModel): string | undefined {
  if (model.maxScopeLength === undefined || scope.length <= model.maxScopeLength) return undefined;
  return `scope is ${scope.length} characters long; this server takes at most ${model.maxScopeLength}`;
}

function normalizeAuthorizationRequest(ctx: KoaContextWithOIDC, model: ScopeModel) {
  const query = new URLSearchParams(ctx.querystring);
  const scopes = (query.get('scope') ?? '').split(' ').filter(Boolean);
  // A request for the resource that names none of its scopes gets the defaults (mcp:read mcp:write; Appwrite's: all).
  if (query.has('resource') && !scopes.some((s) => model.resourceScopes.includes(s))) scopes.push(...model.defaultScopes);
  // oidc-provider drops offline_access (so: no refresh token) unless prompt includes `consent`
  // (OIDC Core §11). Native clients see the consent page anyway, so asking for it changes nothing
  // for them, and a refresh token comes back whenever offline_access is asked for.
  const prompts = (query.get('prompt') ?? '').split(' ').filter(Boolean);
  if (scopes.includes('offline_access') && !prompts.includes('consent') && !prompts.includes('none')) {
    query.set('prompt', [...prompts, 'consent'].join(' '));
  }
  if (scopes.length) query.set('scope', scopes.join(' '));
  ctx.querystring = query.toString();
}

function countEvents(provider: Provider, tokens: TokenStore, stats: CloudStats) {
  const grantType = (ctx: KoaContextWithOIDC) => ctx.oidc?.params?.grant_type;
  provider.on('registration_create.success', () => { stats.registrations++; });
  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    if (grantType(ctx) === 'authorization_code') stats.authorizationCodeGrants++;
    if (grantType(ctx) === 'refresh_token') stats.refreshGrants++;
    if (grantType(ctx) === DEVICE_CODE_GRANT) stats.deviceCodeGrants++;
  });
  provider.on('device_authorization.success', () => { stats.deviceAuthorizations++; });
  provider.on('grant.error', (ctx: KoaContextWithOIDC, err: { error_detail?: string }) => {
    if (grantType(ctx) === 'refresh_token') stats.refreshFailures++;
    // The client is told "grant request is invalid"; the reason is kept in error_detail.
    if (err?.error_detail === 'refresh token already used') stats.refreshReuse++;
  });
  provider.on('access_token.issued', (token) => tokens.recordJwtAccessToken(token));
  provider.on('server_error', (_ctx, err: Error) => console.error('[cloud] authorization server error:', err));
}
