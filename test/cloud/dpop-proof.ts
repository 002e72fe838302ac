// How a resource server checks a DPoP proof (RFC 9449 §4.3), written on jose alone: no code is
// shared with the client's src/auth/dpop.ts, so a bug there cannot hide behind the same bug here.
// Used by the local cloud's DPoP resource server (dpop.ts) and by the unit tests. The nonce is the
// server's business (it knows which ones it handed out): this returns the proof's, unchecked.
import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, jwtVerify, type JWK } from 'jose';

/** Asymmetric algorithms only (RFC 9449 §11.6); the cloud advertises ES256 alone. */
const ALGORITHMS = ['ES256'];
/** SEP-1932: proofs are accepted within ±5 minutes of the server's clock. */
export const PROOF_WINDOW_S = 300;

export interface ProofExpectations {
  /** The request's method and URL (compared without query and fragment). */
  method: string;
  url: string;
  /** The access token the request carried: the proof's `ath` must be its hash. */
  accessToken?: string;
  /** The token's `cnf.jkt`: the proof's key must be the key the token is bound to. */
  jkt?: string;
  /** Epoch seconds; default now. */
  now?: number;
}

export interface CheckedProof {
  jkt: string;
  jti: string;
  iat: number;
  nonce?: string;
}

/** Why a proof was refused; `error` is what goes into the DPoP challenge (RFC 9449 §7.1). */
export class DpopProofError extends Error {
  readonly error = 'invalid_dpop_proof';
}

export async function checkDpopProof(header: string | string[] | undefined, x: ProofExpectations): Promise<CheckedProof> {
  if (header === undefined) throw new DpopProofError('no DPoP header');
  // Node joins repeated headers with ", "; a JWT has no comma (§4.3: exactly one DPoP header).
  const proof = [header].flat().join(', ');
  if (proof.includes(',')) throw new DpopProofError('more than one DPoP header');
  let protectedHeader;
  try {
    protectedHeader = decodeProtectedHeader(proof);
  } catch {
    throw new DpopProofError('the DPoP header is not a JWS');
  }
  if (protectedHeader.typ !== 'dpop+jwt') throw new DpopProofError(`typ is ${JSON.stringify(protectedHeader.typ)}, not "dpop+jwt"`);
  if (!protectedHeader.alg || !ALGORITHMS.includes(protectedHeader.alg)) throw new DpopProofError(`alg ${JSON.stringify(protectedHeader.alg)} is not accepted`);
  const jwk = protectedHeader.jwk as JWK | undefined;
  if (!jwk) throw new DpopProofError('no jwk in the proof header');
  if ('d' in jwk) throw new DpopProofError('the proof header holds a private key');
  let payload;
  try {
    ({ payload } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ALGORITHMS }));
  } catch (err) {
    throw new DpopProofError(`the proof's signature does not verify with its jwk (${(err as Error).message})`);
  }
  if (typeof payload.jti !== 'string' || payload.jti.length < 12) throw new DpopProofError('jti is missing or too short');
  if (payload.htm !== x.method) throw new DpopProofError(`htm ${JSON.stringify(payload.htm)} is not the request's method ${x.method}`);
  if (typeof payload.htu !== 'string') throw new DpopProofError('htu is missing');
  if (/[?#]/.test(payload.htu)) throw new DpopProofError('htu has a query or fragment (RFC 9449 §4.2)');
  if (target(payload.htu) !== target(x.url)) throw new DpopProofError(`htu ${payload.htu} is not the request's URL`);
  const now = x.now ?? Math.floor(Date.now() / 1000);
  if (typeof payload.iat !== 'number' || Math.abs(now - payload.iat) > PROOF_WINDOW_S) throw new DpopProofError('iat is missing or outside ±5 minutes');
  if (x.accessToken !== undefined) {
    const ath = createHash('sha256').update(x.accessToken, 'ascii').digest('base64url');
    if (payload.ath !== ath) throw new DpopProofError(payload.ath === undefined ? 'ath is missing' : 'ath is not the hash of the access token sent');
  }
  const jkt = await calculateJwkThumbprint(jwk, 'sha256');
  if (x.jkt !== undefined && jkt !== x.jkt) throw new DpopProofError('the proof is signed by another key than the one the token is bound to');
  if (payload.nonce !== undefined && typeof payload.nonce !== 'string') throw new DpopProofError('nonce is not a string');
  return { jkt, jti: payload.jti, iat: payload.iat, nonce: payload.nonce as string | undefined };
}

/** RFC 9449 §4.3: scheme-based normalization (case, default port) of the URL without query and fragment. */
function target(url: string): string {
  const u = URL.parse(url);
  return u ? `${u.protocol}//${u.host}${u.pathname}` : url;
}
