// Client ID Metadata Documents for the local cloud's AS (draft-ietf-oauth-client-id-metadata-document,
// MCP 2025-11-25): oidc-provider resolves an https client_id by fetching it through its `fetch`
// option, and this is that fetch. It gets the document over https (trusting the CA it is given,
// such as the test CA), checks it, and hands oidc-provider the client it admits: a public native
// client (no secret; a loopback redirect on any port, RFC 8252 §7.3).
import { request } from 'node:https';
import type { CloudStats } from './stats.js';

export interface ClientMetadataDocuments {
  /** CA certificates (PEM) trusted for the documents' https servers; Node's own when absent. */
  ca?: string | Buffer;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);
const MAX_DOCUMENT = 5 * 1024;

/**
 * The `fetch` oidc-provider calls for a client_id URL. A document that fails a check is refused
 * with an error that oidc-provider turns into `invalid_client` (its error page at /authorize).
 */
export async function fetchClientMetadataDocument(url: string, init: RequestInit, o: ClientMetadataDocuments, stats: CloudStats): Promise<Response> {
  stats.clientMetadataFetches++;
  const got = await httpsGet(new URL(url), o.ca, init.signal ?? undefined);
  if (got.status !== 200) return new Response(null, { status: got.status });
  try {
    const document = admit(url, got.body);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (got.cacheControl) headers['cache-control'] = got.cacheControl;
    return new Response(JSON.stringify(document), { status: 200, headers });
  } catch (err) {
    stats.clientMetadataRejections++;
    throw err;
  }
}

/** The checks, then the client as this AS takes it: public (`none`) and native. */
export function admit(url: string, body: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    throw new Error(`the client metadata document at ${url} is not JSON`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`the client metadata document at ${url} is not a JSON object`);
  const d = doc as Record<string, unknown>;
  if (d.client_id !== url) throw new Error(`the client metadata document's client_id ${JSON.stringify(d.client_id)} is not its URL ${url}`);
  const method = d.token_endpoint_auth_method ?? 'none';
  if (method !== 'none') throw new Error(`the client metadata document asks for token_endpoint_auth_method ${JSON.stringify(method)}; this AS takes documents for public clients only ("none")`);
  if ('client_secret' in d) throw new Error('the client metadata document carries a client_secret');
  if (d.application_type !== undefined && d.application_type !== 'native') throw new Error(`the client metadata document's application_type is ${JSON.stringify(d.application_type)}; this AS takes native clients only`);
  const redirects = Array.isArray(d.redirect_uris) ? d.redirect_uris.filter((u): u is string => typeof u === 'string') : [];
  if (!redirects.some(isLoopbackRedirect)) {
    throw new Error(`the client metadata document lists no loopback redirect_uri (http://127.0.0.1/…, http://[::1]/… or http://localhost/…; any port is accepted, RFC 8252 §7.3): ${JSON.stringify(d.redirect_uris)}`);
  }
  // oidc-provider matches a native client's loopback redirect on any port.
  return { ...d, application_type: 'native', token_endpoint_auth_method: 'none' };
}

function isLoopbackRedirect(uri: string): boolean {
  const u = URL.parse(uri);
  return u !== null && u.protocol === 'http:' && LOOPBACK_HOSTS.has(u.hostname);
}

function httpsGet(url: URL, ca: string | Buffer | undefined, signal: AbortSignal | undefined): Promise<{ status: number; body: string; cacheControl?: string }> {
  if (url.protocol !== 'https:') return Promise.reject(new Error(`client metadata documents are fetched over https only, not ${url.href}`));
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers: { accept: 'application/json' }, ...(ca ? { ca } : {}), signal }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (body.length > MAX_DOCUMENT) req.destroy(new Error(`the client metadata document at ${url.href} is over ${MAX_DOCUMENT} bytes`));
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, cacheControl: res.headers['cache-control'] }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
