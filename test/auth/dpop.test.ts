// DPoP keys and proofs (src/auth/dpop.ts, dpop-requests.ts) with real WebCrypto, checked by an
// independent verifier (jose: jwtVerify with EmbeddedJWK, calculateJwkThumbprint; and the local
// cloud's resource-server check, test/cloud/dpop-proof.ts, written on jose alone).
import { createHash, webcrypto } from 'node:crypto';
import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, EmbeddedJWK, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { describe, expect, it } from 'vitest';
import { accessTokenHash, asSupportsDpop, DpopKey, proofTarget } from '../../src/auth/dpop.js';
import { DpopNonces, DpopResourceSigner, isUseDpopNonceChallenge, withDpopNonceRetry } from '../../src/auth/dpop-requests.js';
import { KeychainSecretStore } from '../../src/store/secrets.js';
import { checkDpopProof } from '../cloud/dpop-proof.js';

const URL_MCP = 'https://mcp.example.test/mcp';
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl';

describe('DPoP key', () => {
  it('signs ES256 proofs that jose verifies with the embedded key: typ, alg, public jwk, claims (RFC 9449 §4.2)', async () => {
    const { key } = await DpopKey.generate();
    const proof = await key.proof({ method: 'post', url: `${URL_MCP}?session=1#frag`, accessToken: TOKEN, nonce: 'n-1' }, 1_700_000_000_000);
    const header = decodeProtectedHeader(proof);
    expect(header).toEqual({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: 'EC', crv: 'P-256', x: key.jwk.x, y: key.jwk.y } });
    const { payload } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'], currentDate: new Date(1_700_000_000_000) });
    expect(payload).toEqual({
      jti: expect.stringMatching(/^[\w-]{22}$/), // 128 random bits (§11.1 asks for at least 96)
      htm: 'POST',
      htu: URL_MCP, // no query, no fragment
      iat: 1_700_000_000,
      ath: createHash('sha256').update(TOKEN).digest('base64url'),
      nonce: 'n-1',
    });
  });

  it('has the RFC 7638 thumbprint jose computes, and oauth4webapi binds token requests to the same one', async () => {
    const { key } = await DpopKey.generate();
    expect(key.thumbprint).toBe(await calculateJwkThumbprint(key.jwk, 'sha256'));
    expect(await key.handle().calculateThumbprint()).toBe(key.thumbprint);
  });

  it('omits ath and nonce when there is no token or nonce (token endpoint proofs)', async () => {
    const { key } = await DpopKey.generate();
    const claims = decodeJwt(await key.proof({ method: 'POST', url: 'https://as.example.test/token' }));
    expect(Object.keys(claims).sort()).toEqual(['htm', 'htu', 'iat', 'jti']);
  });

  it('gives every proof its own jti', async () => {
    const { key } = await DpopKey.generate();
    const jtis = new Set<unknown>();
    for (let i = 0; i < 200; i++) jtis.add(decodeJwt(await key.proof({ method: 'POST', url: URL_MCP, accessToken: TOKEN })).jti);
    expect(jtis.size).toBe(200);
  });

  it('passes the resource server check for its own request, and fails it for another URL, method, token or key', async () => {
    const { key } = await DpopKey.generate();
    const { key: other } = await DpopKey.generate();
    const proof = await key.proof({ method: 'POST', url: URL_MCP, accessToken: TOKEN });
    const expected = { method: 'POST', url: URL_MCP, accessToken: TOKEN, jkt: key.thumbprint };
    await expect(checkDpopProof(proof, expected)).resolves.toMatchObject({ jkt: key.thumbprint });
    await expect(checkDpopProof(proof, { ...expected, url: 'https://mcp.example.test/other' })).rejects.toThrow(/htu/);
    await expect(checkDpopProof(proof, { ...expected, url: 'https://evil.example.test/mcp' })).rejects.toThrow(/htu/);
    await expect(checkDpopProof(proof, { ...expected, method: 'GET' })).rejects.toThrow(/htm/);
    await expect(checkDpopProof(proof, { ...expected, accessToken: `${TOKEN}x` })).rejects.toThrow(/ath/);
    await expect(checkDpopProof(proof, { ...expected, jkt: other.thumbprint })).rejects.toThrow(/another key/);
    await expect(checkDpopProof(proof, { ...expected, now: Math.floor(Date.now() / 1000) + 400 })).rejects.toThrow(/iat/);
    const tampered = `${proof.slice(0, proof.lastIndexOf('.'))}.${(await other.proof({ method: 'POST', url: URL_MCP })).split('.')[2]}`;
    await expect(checkDpopProof(tampered, expected)).rejects.toThrow(/signature/);
  });

  it('normalizes htu as a server compares it: default port and case, path kept', () => {
    expect(proofTarget('HTTPS://MCP.Example.TEST:443/Mcp?x=1#y')).toBe('https://mcp.example.test/Mcp');
    expect(proofTarget('http://127.0.0.1:8080/')).toBe('http://127.0.0.1:8080/');
  });

  it('computes ath as base64url(SHA-256(ASCII token)) — the RFC 9449 §7.1 example', () => {
    // Access token and ath from RFC 9449 §7.1 (Figure 12 and the proof claims of Figure 13).
    expect(accessTokenHash('Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU')).toBe('fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo');
  });
});

describe('DPoP key storage', () => {
  it('round-trips through the stored string: same key, same thumbprint, proofs that verify', async () => {
    const { key, stored } = await DpopKey.generate();
    const again = await DpopKey.fromStored(stored);
    expect(again.thumbprint).toBe(key.thumbprint);
    const proof = await again.proof({ method: 'POST', url: URL_MCP, accessToken: TOKEN });
    await expect(checkDpopProof(proof, { method: 'POST', url: URL_MCP, accessToken: TOKEN, jkt: key.thumbprint })).resolves.toBeDefined();
  });

  it('fits one keychain entry everywhere, Windows included (1,000 characters; 2,560 bytes as UTF-16)', async () => {
    const { stored } = await DpopKey.generate();
    expect(stored).toMatch(/^dpop1\.ES256\.[\w-]{43}\.[\w-]{43}\.[\w-]{43}$/);
    expect(stored.length).toBe(143);
    expect(stored.length).toBeLessThanOrEqual(new KeychainSecretStore({ platform: 'win32' }).maxValueLength);
    expect(Buffer.byteLength(stored, 'utf16le')).toBeLessThan(2560);
  });

  it('keeps the private key unexportable in memory; only the public one can be exported', async () => {
    const { key } = await DpopKey.generate();
    expect(key.keyPair.privateKey.extractable).toBe(false);
    await expect(webcrypto.subtle.exportKey('jwk', key.keyPair.privateKey)).rejects.toThrow();
    expect(key.keyPair.publicKey.extractable).toBe(true);
  });

  it('refuses a damaged stored key with a clear error that never contains it', async () => {
    const { stored } = await DpopKey.generate();
    const { stored: other } = await DpopKey.generate();
    const d = stored.split('.')[4]!;
    const mixed = `${other.split('.').slice(0, 4).join('.')}.${d}`; // another key's public point
    const cases = [stored.slice(0, -1), `${stored}A`, stored.replace('ES256', 'ES384'), mixed, 'x'.repeat(144), ''];
    for (const bad of cases) {
      const err = await DpopKey.fromStored(bad).then(() => undefined, (e: unknown) => e as Error & { code?: string; hint?: string });
      expect(err, bad).toBeDefined();
      expect(err!.code).toBe('STORE_SECRETS_UNREADABLE');
      expect(err!.message).toMatch(/^the stored DPoP key cannot be used: /);
      expect(err!.hint).toMatch(/sign in again/);
      expect(err!.message).not.toContain(d);
      expect(err!.message).not.toContain(bad.slice(12, 40) || 'never');
    }
  });
});

describe('DPoP nonces and the resource server retry', () => {
  const res = (status: number, headers: Record<string, string>) => ({ status, header: (n: string) => headers[n] });

  it('carries the latest nonce of each origin, and retries once for a use_dpop_nonce challenge with a new nonce', async () => {
    const { key } = await DpopKey.generate();
    const signer = new DpopResourceSigner(key);
    const url = new URL(URL_MCP);
    const first = await signer.sign(TOKEN, 'POST', url);
    expect(first.headers.authorization).toBe(`DPoP ${TOKEN}`);
    expect(decodeJwt(first.headers.dpop).nonce).toBeUndefined();
    const challenge = res(401, { 'www-authenticate': 'DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"', 'dpop-nonce': 'eyJ7S_zG.eyJH0-Z.HX4w-7v' });
    expect(first.retryWithNonce(challenge)).toBe(true);
    const second = await signer.sign(TOKEN, 'POST', url);
    expect(decodeJwt(second.headers.dpop).nonce).toBe('eyJ7S_zG.eyJH0-Z.HX4w-7v');
    expect(decodeJwt(second.headers.dpop).jti).not.toBe(decodeJwt(first.headers.dpop).jti);
    // The same challenge again (the nonce this request carried): no second retry.
    expect(second.retryWithNonce(challenge)).toBe(false);
    // Another origin has no nonce yet.
    expect(decodeJwt((await signer.sign(TOKEN, 'POST', new URL('https://other.example.test/mcp'))).headers.dpop).nonce).toBeUndefined();
  });

  it('gives each request that was in flight without the nonce its own retry', async () => {
    const { key } = await DpopKey.generate();
    const signer = new DpopResourceSigner(key);
    const url = new URL(URL_MCP);
    const [a, b] = await Promise.all([signer.sign(TOKEN, 'POST', url), signer.sign(TOKEN, 'POST', url)]);
    const challenge = res(401, { 'www-authenticate': 'DPoP error="use_dpop_nonce"', 'dpop-nonce': 'n1' });
    expect(a.retryWithNonce(challenge)).toBe(true);
    expect(b.retryWithNonce(challenge)).toBe(true);
  });

  it('does not retry other 401s, nor a challenge without a nonce; keeps a nonce a 200 brings (§8.2)', async () => {
    const { key } = await DpopKey.generate();
    const signer = new DpopResourceSigner(key);
    const url = new URL(URL_MCP);
    const sent = await signer.sign(TOKEN, 'POST', url);
    expect(sent.retryWithNonce(res(401, { 'www-authenticate': 'DPoP error="invalid_token"', 'dpop-nonce': 'n1' }))).toBe(false);
    expect(sent.retryWithNonce(res(401, { 'www-authenticate': 'DPoP error="use_dpop_nonce"' }))).toBe(false);
    expect(sent.retryWithNonce(res(200, { 'dpop-nonce': 'n2' }))).toBe(false);
    expect(decodeJwt((await signer.sign(TOKEN, 'POST', url)).headers.dpop).nonce).toBe('n2');
  });

  it('recognizes the challenge among several, and only in the DPoP scheme', () => {
    expect(isUseDpopNonceChallenge('Bearer realm="x", DPoP algs="ES256", error="use_dpop_nonce"')).toBe(true);
    expect(isUseDpopNonceChallenge('DPoP error=use_dpop_nonce')).toBe(true);
    expect(isUseDpopNonceChallenge('Bearer error="use_dpop_nonce"')).toBe(false);
    expect(isUseDpopNonceChallenge('DPoP error="invalid_dpop_proof"')).toBe(false);
    expect(isUseDpopNonceChallenge(undefined)).toBe(false);
  });

  it('remembers at most 100 origins, dropping the least recently set', () => {
    const nonces = new DpopNonces();
    for (let i = 0; i < 101; i++) nonces.remember(new URL(`https://s${i}.example.test/`), `n${i}`);
    expect(nonces.get(new URL('https://s0.example.test/'))).toBeUndefined();
    expect(nonces.get(new URL('https://s100.example.test/'))).toBe('n100');
  });
});

describe('DPoP at the token endpoint', () => {
  it('runs an exchange once more for use_dpop_nonce, and only once; other errors go through', async () => {
    const nonceError = new oauth.ResponseBodyError('server responded with an error in the response body', {
      cause: { error: 'use_dpop_nonce' }, response: new Response('{}', { status: 400 }),
    });
    let calls = 0;
    await expect(withDpopNonceRetry(async () => { if (++calls === 1) throw nonceError; return 'tokens'; })).resolves.toBe('tokens');
    expect(calls).toBe(2);
    calls = 0;
    await expect(withDpopNonceRetry(async () => { calls++; throw nonceError; })).rejects.toBe(nonceError);
    expect(calls).toBe(2);
    calls = 0;
    await expect(withDpopNonceRetry(async () => { calls++; throw new Error('invalid_grant'); })).rejects.toThrow('invalid_grant');
    expect(calls).toBe(1);
  });

  it('uses DPoP only with an AS that takes ES256 proofs (RFC 9449 §5.1)', () => {
    const as = { issuer: 'https://as.example.test' };
    expect(asSupportsDpop(as)).toBe(false);
    expect(asSupportsDpop({ ...as, dpop_signing_alg_values_supported: ['RS256'] })).toBe(false);
    expect(asSupportsDpop({ ...as, dpop_signing_alg_values_supported: ['ES256', 'EdDSA'] })).toBe(true);
  });
});
