// DPoP (RFC 9449; MCP SEP-1932): the key a sign-in's tokens are bound to, and the proofs made with it.
//
// One ES256 (ECDSA P-256) key pair per sign-in. Its private half leaves this process only once, as
// the compact string `stored` returned by `generate()`, for the secret store (the keychain entry
// beside the refresh token: 143 characters, far under the 1,000-character entry the store
// allows everywhere); in memory it is a non-extractable CryptoKey. Proofs (RFC 9449 §4.2) are made
// here for requests to the MCP server; token endpoint requests go through oauth4webapi, which
// signs with the same key pair through `handle()`.
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { AppError, Code } from '../errors.js';

const { subtle } = webcrypto;

/** The only proof algorithm used (RFC 9449 §11.6 asks for asymmetric ones; SEP-1932 names ES256). */
export const DPOP_ALG = 'ES256';

const CURVE = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNATURE = { name: 'ECDSA', hash: 'SHA-256' } as const;
/** `dpop1.ES256.<x>.<y>.<d>`: the public point and the private scalar, each base64url (43 characters). */
const STORED = /^dpop1\.ES256\.([\w-]{43})\.([\w-]{43})\.([\w-]{43})$/;

/** The public key as it goes into the proof's `jwk` header (RFC 7517, EC P-256). */
export interface PublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
}

export interface ProofOptions {
  /** The HTTP method of the request (`htm`). */
  method: string;
  /** The request's URL; `htu` is it without query and fragment (RFC 9449 §4.2). */
  url: string | URL;
  /** The access token sent with the request: its hash goes in `ath` (RFC 9449 §4.2). */
  accessToken?: string;
  /** The latest DPoP-Nonce of that server (RFC 9449 §8, §9). */
  nonce?: string;
}

/** Does the authorization server take ES256 DPoP proofs (RFC 9449 §5.1)? */
export function asSupportsDpop(as: oauth.AuthorizationServer): boolean {
  const algs = as.dpop_signing_alg_values_supported;
  return Array.isArray(algs) && algs.includes(DPOP_ALG);
}

/** `htu` for a URL: scheme, host, port and path; no query, no fragment (RFC 9449 §4.2). */
export function proofTarget(url: string | URL): string {
  const u = typeof url === 'string' ? new URL(url) : url;
  return `${u.origin}${u.pathname}`;
}

/** `ath`: base64url of the SHA-256 of the access token's ASCII bytes (RFC 9449 §4.2). */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url');
}

/** The RFC 7638 JWK SHA-256 thumbprint: what the AS binds tokens to (`cnf.jkt`, RFC 9449 §6). */
export function jwkThumbprint(jwk: PublicJwk): string {
  // The required members in lexicographic order, no whitespace (RFC 7638 §3.2).
  const canonical = `{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}","y":"${jwk.y}"}`;
  return createHash('sha256').update(canonical).digest('base64url');
}

export class DpopKey {
  readonly alg = DPOP_ALG;
  /** The proof header, encoded once: it is the same for every proof. */
  private readonly encodedHeader: string;

  private constructor(
    /** The private key is not extractable; the public one is (oauth4webapi's DPoP handle exports it). */
    readonly keyPair: webcrypto.CryptoKeyPair,
    readonly jwk: PublicJwk,
    /** The JWK thumbprint, which tokens bound to this key carry as `cnf.jkt`. */
    readonly thumbprint: string,
  ) {
    this.encodedHeader = base64url(JSON.stringify({ typ: 'dpop+jwt', alg: DPOP_ALG, jwk }));
  }

  /** A new key pair, and the string that keeps it in the secret store (the only copy of its private half). */
  static async generate(): Promise<{ key: DpopKey; stored: string }> {
    const pair = await subtle.generateKey(CURVE, true, ['sign', 'verify']);
    const { x, y, d } = await subtle.exportKey('jwk', pair.privateKey);
    if (!x || !y || !d) throw new Error('WebCrypto exported an EC private key without x, y or d');
    const stored = `dpop1.${DPOP_ALG}.${x}.${y}.${d}`;
    return { key: await DpopKey.fromStored(stored), stored };
  }

  /**
   * The key kept as `stored`. Throws AppError SECRETS_UNREADABLE when it is not one (the message
   * never holds the value): the tokens bound to it cannot be used any more, so sign in again.
   */
  static async fromStored(stored: string): Promise<DpopKey> {
    const parts = STORED.exec(stored);
    if (!parts) throw unreadable(`it is not a key this version of appwrite-mcp wrote (${stored.length} characters)`);
    const jwk: PublicJwk = { kty: 'EC', crv: 'P-256', x: parts[1]!, y: parts[2]! };
    let keyPair: webcrypto.CryptoKeyPair;
    try {
      keyPair = {
        privateKey: await subtle.importKey('jwk', { ...jwk, d: parts[3]! }, CURVE, false, ['sign']),
        publicKey: await subtle.importKey('jwk', jwk, CURVE, true, ['verify']),
      };
    } catch (err) {
      throw unreadable(`it is not a valid P-256 key (${(err as Error).name})`, err);
    }
    const key = new DpopKey(keyPair, jwk, jwkThumbprint(jwk));
    // A private scalar that does not belong to the public point would sign proofs no server accepts.
    const probe = new TextEncoder().encode('appwrite-mcp dpop key check');
    const signature = await subtle.sign(SIGNATURE, keyPair.privateKey, probe);
    if (!(await subtle.verify(SIGNATURE, keyPair.publicKey, signature, probe))) {
      throw unreadable('its private and public halves do not belong together');
    }
    return key;
  }

  /** A DPoP proof JWT for one request (RFC 9449 §4.2): a new `jti` every time. */
  async proof(o: ProofOptions, now: number = Date.now()): Promise<string> {
    const claims: Record<string, unknown> = {
      jti: randomBytes(16).toString('base64url'),
      htm: o.method.toUpperCase(),
      htu: proofTarget(o.url),
      iat: Math.floor(now / 1000),
    };
    if (o.accessToken !== undefined) claims.ath = accessTokenHash(o.accessToken);
    if (o.nonce !== undefined) claims.nonce = o.nonce;
    const input = `${this.encodedHeader}.${base64url(JSON.stringify(claims))}`;
    // WebCrypto's ECDSA signature is r || s, 64 bytes: the JWS form of ES256 (RFC 7518 §3.4).
    const signature = await subtle.sign(SIGNATURE, this.keyPair.privateKey, new TextEncoder().encode(input));
    return `${input}.${Buffer.from(signature).toString('base64url')}`;
  }

  /**
   * oauth4webapi's DPoP handle over this key pair, for token endpoint requests. It remembers the
   * nonces the authorization server hands out: keep one per process and sign-in, not one per request.
   */
  handle(): oauth.DPoPHandle {
    return oauth.DPoP({}, this.keyPair as Parameters<typeof oauth.DPoP>[1]);
  }
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

function unreadable(why: string, cause?: unknown): AppError {
  return new AppError(Code.SECRETS_UNREADABLE, `the stored DPoP key cannot be used: ${why}`, {
    hint: 'The tokens bound to it cannot be used without it: sign in again.',
    cause,
  });
}
