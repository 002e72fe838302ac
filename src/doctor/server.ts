// Doctor, parts 2 and 3: what the server says. One unauthenticated `initialize` (as `login` and the
// proxy send it) gives both the server's clock (its `Date` header) and its Bearer challenge; then
// the discovery chain as sign-in walks it, one step per line: protected-resource metadata (RFC
// 9728), the authorization server's metadata (RFC 8414 / OIDC, issuer checked), PKCE S256.
import type { AuthorizationServer } from 'oauth4webapi';
import type { BearerChallenge } from '../authorization.js';
import { assertS256, discoverAuthorizationServer, discoverLegacyAuthorizationServer, discoverResource, probeServer, type ResourceInfo } from '../auth/discovery.js';
import type { AuthContext } from '../auth/oauth.js';
import { Code, errorMessage, isAppError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Target } from '../store/types.js';
import { fail, ms, ok, skip, warn, type CheckResult } from './report.js';
import { classifyNetworkError } from '../http/network-error.js';

/** One HTTP exchange as the doctor's fetch saw it. */
export interface Exchange {
  method: string;
  url: string;
  status: number;
  date?: string;
  sentAt: number;
  receivedAt: number;
}

/**
 * An AuthContext whose fetch records every exchange (for the `Date` header and for which metadata
 * URL answered) and is bounded both per request and by `signal` (the whole check).
 */
export function recordingContext(fetch: typeof globalThis.fetch, logger: Logger, requestTimeoutMs: number, now: () => number = Date.now): { ctx: AuthContext; exchanges: Exchange[]; within(signal: AbortSignal): AuthContext } {
  const exchanges: Exchange[] = [];
  const make = (bound?: AbortSignal): AuthContext => ({
    logger,
    requestTimeoutMs,
    fetch: (async (input: string | URL | Request, init: RequestInit = {}) => {
      const url = input instanceof Request ? input.url : String(input);
      const signals = [init.signal, bound].filter((s): s is AbortSignal => Boolean(s));
      const sentAt = now();
      const res = await fetch(input, { ...init, signal: signals.length > 1 ? AbortSignal.any(signals) : signals[0] });
      exchanges.push({ method: init.method ?? 'GET', url, status: res.status, date: res.headers.get('date') ?? undefined, sentAt, receivedAt: now() });
      return res;
    }) as typeof globalThis.fetch,
  });
  return { ctx: make(), exchanges, within: make };
}

/** What the server checks found out, for the sign-in checks that follow. */
export interface ServerFacts {
  /** The server answered the probe at all. */
  answered: boolean;
  /** The probe without a token was refused (401/403 or a Bearer challenge). */
  requiresAuth?: boolean;
  challenge?: BearerChallenge;
  resource?: string;
  issuer?: string;
  as?: AuthorizationServer;
  /** The authorization server could not be reached (refreshes and sign-ins would fail). */
  asUnreachable?: string;
}

export interface ServerCheckOptions {
  target: Target;
  ctx: AuthContext;
  /** A context bounded by a deadline, for a step that makes several requests. */
  bounded(ms: number): AuthContext;
  exchanges: Exchange[];
  /** The whole AS-metadata step may take this long (it tries up to three URLs). */
  stepTimeoutMs: number;
  platform: NodeJS.Platform;
  now?: () => number;
}

export const CLOCK_WARN_MS = 30_000;
export const CLOCK_FAIL_MS = 5 * 60_000;

export async function checkServer(o: ServerCheckOptions, report: (r: CheckResult) => void): Promise<ServerFacts> {
  const probe = await probeStep(o, report);
  if (!probe) return { answered: false };
  const facts: ServerFacts = { answered: true, requiresAuth: probe.requiresAuth, challenge: probe.challenge };
  if (!probe.requiresAuth && (probe.status < 200 || probe.status >= 300)) return facts;
  const resource = await resourceStep(o, probe, report);
  if (resource === 'stop') return facts;
  facts.resource = resource?.resource;
  const as = await authorizationServerStep(o, resource, facts, report);
  if (!as) {
    report(skip('pkce', 'no authorization server metadata'));
    return facts;
  }
  facts.as = as;
  facts.issuer = as.issuer;
  try {
    assertS256(as);
    report(ok('pkce', 'PKCE S256 is supported'));
  } catch (err) {
    report(fail('pkce', errorMessage(err), { fix: 'appwrite-mcp never signs in without PKCE S256: the authorization server\'s operator must enable it (code_challenge_methods_supported: ["S256"]).' }));
  }
  return facts;
}

type Probe = Awaited<ReturnType<typeof probeServer>>;

/** `initialize` without a token: the clock (its Date header) and the challenge lines; undefined when no answer. */
async function probeStep(o: ServerCheckOptions, report: (r: CheckResult) => void): Promise<Probe | undefined> {
  const url = o.target.url;
  let probe: Probe;
  try {
    probe = await probeServer(o.ctx, url, o.target.headers ?? {});
  } catch (err) {
    report(skip('clock', 'the server did not answer: no Date header to compare with'));
    report(fail('challenge', `the server did not answer initialize: ${errorMessage(err)}`, {
      fix: 'The server accepts connections but does not answer HTTP requests in time: check --url, or try again later (the server may be overloaded or down).',
    }));
    return undefined;
  }
  report(clockCheck(o.exchanges.find((x) => x.method === 'POST' && x.url === url), o.platform));
  if (!probe.requiresAuth && (probe.status < 200 || probe.status >= 300)) {
    report(fail('challenge', `the server answered initialize with HTTP ${probe.status}`, {
      fix: probe.status >= 500
        ? 'The server has a problem on its side; try again later.'
        : `Check that --url (${url}) is the MCP endpoint itself (for Appwrite: https://mcp.appwrite.io/ or https://<host>/<project_id>/mcp).`,
    }));
  } else if (probe.requiresAuth) {
    const c = probe.challenge;
    const params = c ? [c.error && `error=${c.error}`, c.resourceMetadata && `resource_metadata=${c.resourceMetadata}`, c.scope !== undefined && `scope: ${describeScopes(c.scope)}`].filter(Boolean) : [];
    report(ok('challenge', `the server asks for a sign-in: HTTP ${probe.status}${c ? ' and a WWW-Authenticate challenge' : ' but no WWW-Authenticate challenge (the well-known metadata URLs are tried)'}`, { detail: params as string[] }));
  } else {
    report(ok('challenge', `the server answers initialize without a token (HTTP ${probe.status}): it needs no sign-in for that`, {
      detail: ['a server may still ask for one on a later request (the proxy then signs in); its metadata, if any, is checked below'],
    }));
  }
  return probe;
}

/** RFC 9728 protected-resource metadata; undefined: none (2025-03-26 discovery); 'stop': nothing more to check. */
async function resourceStep(o: ServerCheckOptions, probe: Probe, report: (r: CheckResult) => void): Promise<ResourceInfo | undefined | 'stop'> {
  try {
    const resource = await discoverResource(o.bounded(o.stepTimeoutMs), o.target.url, probe.challenge);
    report(ok('resource-metadata', `protected resource metadata at ${resource.metadataUrl}`, {
      detail: [
        `resource: ${resource.resource}`,
        `authorization server${resource.authorizationServers.length > 1 ? 's' : ''}: ${resource.authorizationServers.join(', ')}`,
        ...(resource.scopesSupported ? [`scopes_supported: ${describeScopes(resource.scopesSupported.join(' '))}`] : []),
      ],
    }));
    return resource;
  } catch (err) {
    if (isAppError(err, Code.NO_RESOURCE_METADATA) && probe.requiresAuth) {
      report(warn('resource-metadata', 'no protected resource metadata (RFC 9728): using the MCP 2025-03-26 discovery (the authorization server at the server\'s origin)', { detail: [errorMessage(err)] }));
      return undefined;
    }
    if (isAppError(err, Code.NO_RESOURCE_METADATA)) {
      report(skip('resource-metadata', 'no protected resource metadata: the server needs no sign-in'));
      report(skip('authorization-server', 'no sign-in needed'));
      report(skip('pkce', 'no sign-in needed'));
    } else {
      report(fail('resource-metadata', errorMessage(err), { fix: discoveryFix(err, o.target.url) }));
      report(skip('authorization-server', 'no protected resource metadata to follow'));
      report(skip('pkce', 'no authorization server metadata'));
    }
    return 'stop';
  }
}

/** RFC 8414 / OIDC metadata of the authorization server, issuer checked; undefined after a failure line. */
async function authorizationServerStep(o: ServerCheckOptions, resource: ResourceInfo | undefined, facts: ServerFacts, report: (r: CheckResult) => void): Promise<AuthorizationServer | undefined> {
  const url = o.target.url;
  const issuer = resource?.authorizationServers[0] ?? new URL(url).origin;
  const before = o.exchanges.length;
  const now = o.now ?? Date.now;
  const started = now();
  let as: AuthorizationServer;
  try {
    as = resource ? await discoverAuthorizationServer(o.bounded(o.stepTimeoutMs), issuer) : await discoverLegacyAuthorizationServer(o.bounded(o.stepTimeoutMs), url);
  } catch (err) {
    if (isAppError(err, Code.UNREACHABLE) || ['timeout', 'aborted'].includes(classifyNetworkError(err).kind)) {
      facts.asUnreachable = errorMessage(err);
      report(fail('authorization-server', `cannot reach the authorization server ${issuer}: ${errorMessage(err)}`, {
        fix: `The authorization server is down or blocked from this machine: check your network, VPN, HTTPS_PROXY and NO_PROXY for ${new URL(issuer).host}, or try again later. Until it answers, the proxy can neither refresh a token nor sign in.`,
      }));
    } else {
      report(fail('authorization-server', errorMessage(err), { fix: discoveryFix(err, url) }));
    }
    return undefined;
  }
  const found = o.exchanges.slice(before).filter((x) => x.method === 'GET' && x.status === 200).pop();
  const registration = [
    as.registration_endpoint ? 'dynamic client registration' : undefined,
    (as as { client_id_metadata_document_supported?: boolean }).client_id_metadata_document_supported ? 'client ID metadata documents' : undefined,
  ].filter(Boolean);
  report(ok('authorization-server', `authorization server ${as.issuer}: metadata${found ? ` at ${found.url}` : ' (2025-03-26 default endpoints)'}, issuer matches (${ms(now() - started)})`, {
    detail: [
      `token endpoint: ${as.token_endpoint}`,
      `clients: ${registration.length ? registration.join(', ') : 'pre-registered only (appwrite-mcp login --client-id …)'}`,
      ...(as.revocation_endpoint ? [] : ['no revocation endpoint: logout can only delete the local copy']),
    ],
  }));
  return as;
}

/** The server's `Date` against ours, with the round trip as the margin of error. */
export function clockCheck(exchange: Exchange | undefined, platform: NodeJS.Platform): CheckResult {
  const serverDate = exchange?.date ? Date.parse(exchange.date) : NaN;
  if (!exchange || Number.isNaN(serverDate)) {
    return warn('clock', 'the server sent no usable Date header: cannot compare clocks', { detail: exchange?.date ? [`Date: ${exchange.date}`] : undefined });
  }
  // The Date header has one-second resolution and was stamped somewhere during the round trip.
  const localMid = (exchange.sentAt + exchange.receivedAt) / 2;
  const skew = localMid - (serverDate + 500);
  const margin = (exchange.receivedAt - exchange.sentAt) / 2 + 500;
  const size = Math.abs(skew);
  const direction = skew > 0 ? 'ahead of' : 'behind';
  const detail = [`server Date: ${exchange.date}; local time then: ${new Date(localMid).toUTCString()} (±${ms(margin)})`];
  const fix = clockFix(platform);
  if (size > CLOCK_FAIL_MS) {
    return fail('clock', `your clock is ${describeSkew(size)} ${direction} the server's: token expiry and validity checks break with a skew this large`, { detail, fix });
  }
  if (size > CLOCK_WARN_MS) {
    return warn('clock', `your clock is ${describeSkew(size)} ${direction} the server's (more than ${CLOCK_WARN_MS / 1000} s)`, { detail, fix });
  }
  return ok('clock', `your clock is within ${Math.max(1, Math.ceil((size + margin) / 1000))} s of the server's`, { detail });
}

function describeSkew(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m} min`;
  return `${Math.round(m / 60)} h`;
}

function clockFix(platform: NodeJS.Platform): string {
  if (platform === 'darwin') return 'Turn on System Settings → General → Date & Time → "Set time and date automatically".';
  if (platform === 'win32') return 'Turn on Settings → Time & language → Date & time → "Set time automatically", then "Sync now".';
  return 'Synchronise your clock: sudo timedatectl set-ntp true (or start chronyd / systemd-timesyncd).';
}

function discoveryFix(err: unknown, url: string): string {
  if (isAppError(err, Code.RESOURCE_MISMATCH)) return `The server's metadata is for another URL: use the URL it names as --url (check with the server's operator), or fix --url (${url}).`;
  if (isAppError(err, Code.ISSUER_MISMATCH)) return 'The authorization server\'s metadata names another issuer: a misconfiguration on the server side (report it to its operator); appwrite-mcp refuses to sign in with it.';
  if (isAppError(err, Code.UNREACHABLE)) return 'Check your network, VPN, HTTPS_PROXY and NO_PROXY for that host, or try again later.';
  return `A problem on the server's side: report it to the server's operator (the message above says what is wrong), or check --url (${url}).`;
}

/** A long scope list (Appwrite's is ~70 scopes) shortened for one line. */
function describeScopes(scope: string): string {
  const scopes = scope.split(/\s+/).filter(Boolean);
  if (scopes.length === 0) return '(none)';
  if (scopes.length <= 6) return scopes.join(' ');
  return `${scopes.slice(0, 5).join(' ')} … (${scopes.length} scopes)`;
}
