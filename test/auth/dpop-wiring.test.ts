// DPoP as wired into the proxy and the store (phase 2): the proxy's per-request retry answers a
// resource server's use_dpop_nonce once with a new proof (never a refresh or a sign-in), the nonce
// learnt on one request goes with the next to the same origin only, the challenge parser reads
// DPoP challenges, the auto/require/off rule, and the key's round trip through the real keychain
// (Secret Service) beside the refresh token, deleted with the sign-in.
import { afterEach, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type * as oauth from 'oauth4webapi';
import { parseAuthChallenge, type AuthChallenge, type Authorizer, type Presentation } from '../../src/authorization.js';
import { BoundKeys } from '../../src/auth/bound-key.js';
import { keptBinding, signInKey } from '../../src/auth/dpop-binding.js';
import { DpopKey } from '../../src/auth/dpop.js';
import { DpopNonces, DpopResourceSigner } from '../../src/auth/dpop-requests.js';
import type { HttpResponse } from '../../src/http/client.js';
import { redact, silentLogger } from '../../src/log.js';
import { sendWithRetries } from '../../src/proxy/transports/retry.js';
import { KeychainSecretStore } from '../../src/store/secrets.js';
import { signInKey as storeKey } from '../../src/store/sign-ins.js';
import { hasSecretService, tempConfigDir } from '../helpers/cli.js';
import { signInsAt } from '../helpers/stored.js';

const TOKEN = 'access-token-aaaaaaaaaaaaaaaa';
const MCP = new URL('https://mcp.example.test/mcp');

function response(status: number, headers: Record<string, string> = {}): HttpResponse {
  return { status, headers, body: Readable.from([]) } as unknown as HttpResponse;
}

/** An authorizer whose token is DPoP-bound to `key`, counting what the retry loop asks of it. */
class BoundAuthorizer implements Authorizer {
  unauthorized: AuthChallenge[] = [];
  readonly signer: DpopResourceSigner;
  constructor(key: DpopKey, nonces = new DpopNonces()) {
    this.signer = new DpopResourceSigner(key, nonces);
  }
  async getToken() { return TOKEN; }
  async onUnauthorized(_rejected: string | undefined, challenge: AuthChallenge) {
    this.unauthorized.push(challenge);
    return 'refreshed-token-bbbbbbbbbbbbbbbb';
  }
  async onInsufficientScope(): Promise<string> { throw new Error('not expected'); }
  async whenReady() {}
  present(token: string, method: string, url: URL): Promise<Presentation> { return this.signer.sign(token, method, url); }
}

/** Sends through sendWithRetries to a scripted server; records each attempt's proof. */
async function exchange(authorizer: Authorizer, answers: HttpResponse[], url = MCP) {
  const proofs: Record<string, unknown>[] = [];
  const schemes: string[] = [];
  const res = await sendWithRetries({
    authorizer,
    closed: () => false,
    send: async (token) => {
      const presented = await authorizer.present!(token!, 'POST', url);
      proofs.push(decodeJwt(presented.headers.dpop!));
      schemes.push(presented.headers.authorization!.split(' ')[0]!);
      return { res: answers.shift()!, presented };
    },
  });
  return { res, proofs, schemes };
}

const nonceChallenge = (nonce: string) => response(401, { 'www-authenticate': 'DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"', 'dpop-nonce': nonce });

describe('the proxy retry with a DPoP-bound token (RFC 9449 §9)', () => {
  it('answers use_dpop_nonce once with a new proof carrying the nonce, without a refresh or a sign-in', async () => {
    const authorizer = new BoundAuthorizer((await DpopKey.generate()).key);
    const { res, proofs, schemes } = await exchange(authorizer, [nonceChallenge('n-1'), response(200)]);
    expect(res.status).toBe(200);
    expect(authorizer.unauthorized).toEqual([]);
    expect(schemes).toEqual(['DPoP', 'DPoP']);
    expect(proofs[0]!.nonce).toBeUndefined();
    expect(proofs[1]!.nonce).toBe('n-1');
    expect(proofs[1]!.jti).not.toBe(proofs[0]!.jti); // a new proof, not the same one again
    expect(proofs[1]).toMatchObject({ htm: 'POST', htu: MCP.href });
  });

  it('retries for a nonce only once per token: a server that keeps asking gets the usual 401 handling', async () => {
    const authorizer = new BoundAuthorizer((await DpopKey.generate()).key);
    const { res, proofs } = await exchange(authorizer, [nonceChallenge('n-1'), nonceChallenge('n-2'), nonceChallenge('n-3'), nonceChallenge('n-4')]);
    // nonce retry (token 1) → 401 → refresh → nonce retry (token 2) → 401 returned: four requests, bounded.
    expect(proofs).toHaveLength(4);
    expect(res.status).toBe(401);
    expect(authorizer.unauthorized).toHaveLength(1);
    expect(authorizer.unauthorized[0]).toMatchObject({ scheme: 'DPoP', error: 'use_dpop_nonce', dpop: true });
  });

  it('a 401 that is not a nonce challenge goes straight to onUnauthorized', async () => {
    const authorizer = new BoundAuthorizer((await DpopKey.generate()).key);
    const invalid = response(401, { 'www-authenticate': 'DPoP algs="ES256", error="invalid_token"' });
    const { res, proofs } = await exchange(authorizer, [invalid, response(200)]);
    expect(res.status).toBe(200);
    expect(proofs).toHaveLength(2);
    expect(authorizer.unauthorized).toEqual([expect.objectContaining({ error: 'invalid_token', scheme: 'DPoP', dpopAlgs: ['ES256'] })]);
  });

  it('tracks the newest nonce per origin: the next request to the same server carries it, another server gets none', async () => {
    const nonces = new DpopNonces();
    const authorizer = new BoundAuthorizer((await DpopKey.generate()).key, nonces);
    await exchange(authorizer, [nonceChallenge('n-1'), response(200, { 'dpop-nonce': 'n-2' })]);
    // A 200 brought a newer one (§8.2): the next request carries it at once, with no retry.
    const next = await exchange(authorizer, [response(200)], new URL('https://mcp.example.test/other/path'));
    expect(next.proofs.map((p) => p.nonce)).toEqual(['n-2']);
    const elsewhere = await exchange(authorizer, [response(200)], new URL('https://other.example.test/mcp'));
    expect(elsewhere.proofs.map((p) => p.nonce)).toEqual([undefined]);
  });
});

describe('logs', () => {
  it('mask an opaque DPoP-bound token in an Authorization header, and leave prose about DPoP alone', () => {
    const opaque = 'Zm9vYmFyYmF6cXV4cXV1eHpvcmtnYXJwbHk';
    expect(redact(`authorization: DPoP ${opaque}`)).toBe('authorization: DPoP [redacted]');
    expect(redact('binding the tokens to a new DPoP key (ES256)')).toBe('binding the tokens to a new DPoP key (ES256)');
  });
});

describe('challenges', () => {
  it('reads a DPoP-only challenge (what a DPoP-enforcing server sends) and says the server takes DPoP', () => {
    const header = 'DPoP resource_metadata="https://mcp.example.test/.well-known/oauth-protected-resource/mcp", algs="ES256 EdDSA"';
    expect(parseAuthChallenge(header)).toEqual({
      error: undefined, errorDescription: undefined, scope: undefined,
      resourceMetadata: 'https://mcp.example.test/.well-known/oauth-protected-resource/mcp', scheme: 'DPoP', dpop: true, dpopAlgs: ['ES256', 'EdDSA'],
    });
  });

  it('prefers the challenge of the scheme the token went with; Bearer answers stay as they were', () => {
    const both = 'Bearer error="invalid_token", scope="a", DPoP error="invalid_token", scope="b", algs="ES256"';
    expect(parseAuthChallenge(both)).toMatchObject({ scope: 'a', dpop: true });
    expect(parseAuthChallenge(both)!.scheme).toBeUndefined();
    expect(parseAuthChallenge(both, 'DPoP')).toMatchObject({ scope: 'b', scheme: 'DPoP' });
    expect(parseAuthChallenge('Bearer realm="x", error="invalid_token"')).toEqual({ error: 'invalid_token', errorDescription: undefined, scope: undefined, resourceMetadata: undefined });
  });
});

describe('when a sign-in binds its tokens (auth/dpop-binding.ts)', () => {
  const offering = { issuer: 'https://as.example.test', dpop_signing_alg_values_supported: ['ES256'] } as oauth.AuthorizationServer;
  const silent = { issuer: 'https://as.example.test' } as oauth.AuthorizationServer;

  it('auto: only when the AS offers ES256 AND the MCP server shows it takes DPoP', async () => {
    expect(await signInKey('auto', offering, false, silentLogger)).toBeUndefined(); // oidc-provider's default, a Bearer-only server
    expect(await signInKey('auto', silent, true, silentLogger)).toBeUndefined();
    expect((await signInKey('auto', offering, true, silentLogger))?.key.alg).toBe('ES256');
    expect(await signInKey('off', offering, true, silentLogger)).toBeUndefined();
  });

  it('require (--dpop): binds whatever the server shows; refuses an AS without ES256, and a token it did not bind', async () => {
    const k = (await signInKey('require', offering, false, silentLogger))!;
    expect(k.key.thumbprint).toMatch(/^[\w-]{43}$/);
    await expect(signInKey('require', silent, true, silentLogger)).rejects.toMatchObject({ code: 'OAUTH_DPOP_UNSUPPORTED' });
    expect(() => keptBinding(k, { token_type: 'bearer' } as oauth.TokenEndpointResponse, 'require', offering.issuer)).toThrow(/not a DPoP-bound one/);
    expect(keptBinding(k, { token_type: 'dpop' } as oauth.TokenEndpointResponse, 'require', offering.issuer)).toEqual({ alg: 'ES256', jkt: k.key.thumbprint, stored: k.stored });
  });
});

const keychainIt = hasSecretService() || process.env.APPWRITE_MCP_REQUIRE_KEYCHAIN === '1' ? it : it.skip;

describe('the key in the real keychain (Secret Service)', () => {
  let config: { dir: string; cleanup(): void } | undefined;
  afterEach(() => config?.cleanup());

  keychainIt('is written beside the refresh token, read back as the same key, and deleted with the sign-in', async () => {
    config = tempConfigDir();
    const target = { url: `https://mcp-${Date.now()}.example.test/mcp` };
    const signIns = signInsAt(config.dir, 'keychain');
    const store = await signIns.chooseStore();
    expect(store.kind).toBe('keychain');
    const { key, stored } = await DpopKey.generate();
    const record = await signIns.records.save({
      target, resource: target.url, noResource: false,
      as: { issuer: 'https://as.example.test', token_endpoint: 'https://as.example.test/token' },
      client: { clientId: 'c1', method: 'dcr', hasSecret: false } as never,
      tokens: { accessToken: 'at-xxxxxxxxxxxxxxxx', refreshToken: 'rt-yyyyyyyyyyyyyyyy', obtainedAt: Date.now(), expiresAt: Date.now() + 3600_000, scopes: ['mcp'], tokenType: 'dpop' },
      dpop: { alg: key.alg, jkt: key.thumbprint, stored },
    }, store);
    expect(record.dpop).toEqual({ alg: 'ES256', jkt: key.thumbprint });

    // A new process: the record from state.json, the key from the keychain.
    const again = signInsAt(config.dir, 'keychain');
    const loaded = (await again.records.load(storeKey(target)))!;
    expect(loaded.record.dpop).toEqual({ alg: 'ES256', jkt: key.thumbprint });
    const raw = await new KeychainSecretStore({ timeoutMs: 3000 }).read(`${storeKey(target)} dpop-key`);
    expect(raw).toContain(stored);
    const bound = (await new BoundKeys((r) => again.records.dpopKey(r), silentLogger).of(loaded.record))!;
    expect(bound.key.thumbprint).toBe(key.thumbprint);
    expect(await bound.handle.calculateThumbprint()).toBe(key.thumbprint);
    const proof = (await bound.signer.sign('at-xxxxxxxxxxxxxxxx', 'POST', MCP)).headers.dpop;
    expect(decodeProtectedHeader(proof).jwk).toEqual(key.jwk);

    // Deleted with the sign-in's other secrets (logout).
    await again.records.forget(loaded.record);
    expect(await new KeychainSecretStore({ timeoutMs: 3000 }).read(`${storeKey(target)} dpop-key`)).toBeUndefined();
    expect(await new BoundKeys((r) => again.records.dpopKey(r), silentLogger).of(loaded.record)).toBeUndefined();
  });
});
