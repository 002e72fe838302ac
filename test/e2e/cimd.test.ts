// Client ID Metadata Documents, end to end: the built CLI with --client-metadata-url, a document
// served over https (the test CA), the local cloud's AS fetching and checking it, real Chromium.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startCloud, type Cloud, type CloudOptions } from '../cloud/index.js';
import { browserSeam, launchChromium, loginThroughBrowser, type BrowserSeam } from '../helpers/browser.js';
import { NO_KEYCHAIN_ENV, runCli, tempConfigDir } from '../helpers/cli.js';
import { TEST_CA, startDocumentServer, type DocumentServer } from '../helpers/document-server.js';
import { connectProxy, textOf } from '../helpers/proxy-client.js';
import { readStored } from '../helpers/stored.js';

let browser: Browser;
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await browser?.close();
});

/** What a native MCP client publishes (the MCP spec's example): a loopback redirect without a port. */
const nativeClient = (url: string) => ({
  client_id: url,
  client_name: 'appwrite-mcp (test)',
  redirect_uris: ['http://127.0.0.1/callback'],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  token_endpoint_auth_method: 'none',
});

async function world(options: CloudOptions, document: (url: string) => unknown = nativeClient): Promise<{ cloud: Cloud; seam: BrowserSeam; env: NodeJS.ProcessEnv; doc: DocumentServer }> {
  const [cloud, doc] = await Promise.all([startCloud(options), startDocumentServer('/client.json', document)]);
  const seam = browserSeam();
  const config = tempConfigDir();
  cleanups.push(() => cloud.stop(), () => doc.close(), () => seam.cleanup(), () => config.cleanup());
  return { cloud, seam, doc, env: { APPWRITE_MCP_CONFIG_DIR: config.dir, APPWRITE_MCP_STORE: 'file', ...NO_KEYCHAIN_ENV, ...seam.env } };
}

async function asMetadata(cloud: Cloud): Promise<Record<string, any>> {
  const issuer = new URL(cloud.issuer);
  return (await fetch(`${issuer.origin}/.well-known/oauth-authorization-server${issuer.pathname}`)).json() as Promise<Record<string, any>>;
}

describe('an AS that accepts Client ID Metadata Documents', () => {
  it('login --client-metadata-url: the URL is the client id, nothing is registered, the AS fetched the document', async () => {
    const w = await world({ clientMetadataDocuments: { ca: TEST_CA } });
    expect((await asMetadata(w.cloud)).client_id_metadata_document_supported).toBe(true);
    const { result, page, url } = await loginThroughBrowser(browser, w.seam, w.cloud.user, ['--url', w.cloud.mcpUrl, '--client-metadata-url', w.doc.url], w.env);
    expect(result.code, result.stderr).toBe(0);
    expect(page.ok).toBe(true);
    const auth = new URL(url);
    expect(auth.searchParams.get('client_id')).toBe(w.doc.url);
    // Any loopback port: the document lists http://127.0.0.1/callback, the CLI listens elsewhere.
    expect(auth.searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    expect(w.cloud.stats.registrations).toBe(0);
    expect(w.cloud.stats.clientMetadataFetches).toBeGreaterThanOrEqual(1);
    expect(w.cloud.stats.clientMetadataRejections).toBe(0);
    expect(w.doc.seen).toContain('GET /client.json');

    const s = JSON.parse((await runCli(['status', '--url', w.cloud.mcpUrl, '--json'], w.env)).stdout).servers[0];
    expect(s.ok).toBe(true);
    expect(s.client).toEqual({ id: w.doc.url, registration: 'cimd' });
    expect(s.refreshToken.present).toBe(true);
    const claims = await w.cloud.verifyAccessToken((await readStored(w.env.APPWRITE_MCP_CONFIG_DIR!, w.cloud.mcpUrl))!.accessToken!);
    expect(claims.client_id).toBe(w.doc.url);

    const p = await connectProxy(['--url', w.cloud.mcpUrl], w.env);
    cleanups.push(() => p.close());
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'cimd' } }))).toBe('cimd');
    expect(w.cloud.stats.registrations).toBe(0);
  });

  it('refuses a document that is not for its URL, or has no loopback redirect (invalid_client, its error page)', async () => {
    const cases: Array<[string, (url: string) => unknown]> = [
      ['client_id is not its URL', (url) => ({ ...nativeClient(url), client_id: `${url}?other` })],
      ['no loopback redirect_uri', (url) => ({ ...nativeClient(url), redirect_uris: ['https://app.example.com/callback'] })],
      ['a confidential client', (url) => ({ ...nativeClient(url), token_endpoint_auth_method: 'private_key_jwt' })],
    ];
    const cloud = await startCloud({ clientMetadataDocuments: { ca: TEST_CA } });
    cleanups.push(() => cloud.stop());
    const meta = await asMetadata(cloud);
    for (const [name, document] of cases) {
      const doc = await startDocumentServer('/client.json', document);
      cleanups.push(() => doc.close());
      const auth = new URL(meta.authorization_endpoint);
      for (const [k, v] of Object.entries({
        response_type: 'code', client_id: doc.url, redirect_uri: 'http://127.0.0.1:5555/callback', scope: 'mcp:read', state: 's',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', resource: cloud.mcpUrl,
      })) auth.searchParams.set(k, v);
      const before = cloud.stats.clientMetadataRejections;
      const res = await fetch(auth, { redirect: 'manual' });
      const body = await res.text();
      expect(res.status, name).toBe(400);
      expect(body, name).toContain('invalid_client');
      expect(res.headers.get('location'), name).toBeNull();
      expect(doc.seen, name).toContain('GET /client.json');
      // (oidc-provider's error handler looks the client up once more: each look-up fetches and refuses.)
      expect(cloud.stats.clientMetadataRejections, name).toBeGreaterThan(before);
    }
  });
});

describe('an AS that does not', () => {
  it('login --client-metadata-url falls back to dynamic registration; the document is never fetched', async () => {
    const w = await world({});
    expect((await asMetadata(w.cloud)).client_id_metadata_document_supported).toBeUndefined();
    const { result, url } = await loginThroughBrowser(browser, w.seam, w.cloud.user, ['--url', w.cloud.mcpUrl, '--client-metadata-url', w.doc.url], w.env);
    expect(result.code, result.stderr).toBe(0);
    expect(new URL(url).searchParams.get('client_id')).not.toBe(w.doc.url);
    expect(w.cloud.stats.registrations).toBe(1);
    expect(w.cloud.stats.clientMetadataFetches).toBe(0);
    expect(w.doc.seen).toEqual([]);
    const s = JSON.parse((await runCli(['status', '--url', w.cloud.mcpUrl, '--json'], w.env)).stdout).servers[0];
    expect(s.client.registration).toBe('dcr');
  });
});
