// Workload identity (MCP SEP-1933): the JWT a workload's platform issues it (a Kubernetes projected
// service-account token, a SPIFFE JWT-SVID, a CI's OIDC token), read from the file the platform
// keeps it in or from an environment variable, for the JWT bearer grant (RFC 7523 §2.1).
//
// Platforms rotate these tokens in place (the kubelet swaps the projected volume's `..data`
// symlink well before expiry), so the token is read again whenever its file changed, and whenever
// the one read last is close to its `exp`; a token past its `exp` is never returned. Errors name
// the file or variable and what is wrong with its contents, never the contents: the token is a
// credential (it is also registered for redaction from every log line).
import { constants, type Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { AppError, Code, errorMessage } from '../errors.js';
import { registerSecret } from '../log.js';

/** Where the workload's token is: a file the platform rotates, or an environment variable. */
export type WorkloadTokenSource = { file: string } | { env: string };

/** What may be shown of the token (status, errors): never the token itself. */
export interface WorkloadClaims {
  iss?: string;
  sub?: string;
  aud: string[];
  /** Epoch seconds (RFC 7519 §4.1.4); RFC 7523 §3 requires it. */
  exp: number;
}

export interface WorkloadToken {
  jwt: string;
  claims: WorkloadClaims;
}

export interface WorkloadTokenReaderOptions {
  env?: NodeJS.ProcessEnv;
  now?: () => number;
}

/** A token file larger than this is not a JWT from a workload platform (theirs are 1–3 KB). */
export const MAX_TOKEN_BYTES = 64 * 1024;
/** A held token with less than this left is read again (the platform may have rotated it already). */
const REREAD_BEFORE_EXPIRY_MS = 60_000;
/** A token with less than this left is as good as expired: the grant would not get through in time. */
const MIN_REMAINING_MS = 5_000;

export class WorkloadTokenReader {
  private held?: WorkloadToken & { stamp: string };
  private readonly env: NodeJS.ProcessEnv;
  private readonly now: () => number;

  constructor(readonly source: WorkloadTokenSource, o: WorkloadTokenReaderOptions = {}) {
    this.env = o.env ?? process.env;
    this.now = o.now ?? Date.now;
  }

  /** Where the token comes from, for status and errors. */
  describe(): string {
    return 'file' in this.source ? `the file ${this.source.file}` : `the environment variable ${this.source.env}`;
  }

  /**
   * The workload's current token. Throws AppError USAGE when it cannot be read or is not a JWT with
   * an `exp`, SIGN_IN_REQUIRED when the newest one there has expired.
   */
  async current(): Promise<WorkloadToken> {
    const { stamp, read } = 'file' in this.source ? await fileVersion(this.source.file) : this.envValue(this.source.env);
    const held = this.held;
    if (held && held.stamp === stamp && this.remainingMs(held) > REREAD_BEFORE_EXPIRY_MS) return { jwt: held.jwt, claims: held.claims };
    const token = this.parse(await read());
    if (this.remainingMs(token) < MIN_REMAINING_MS) {
      const ago = Math.round((this.now() - token.claims.exp * 1000) / 1000);
      throw new AppError(Code.SIGN_IN_REQUIRED, `the workload identity token in ${this.describe()} ${ago >= 0 ? `expired ${ago} s ago` : `expires in ${-ago} s`} (exp ${new Date(token.claims.exp * 1000).toISOString()}), and no newer one has been put there`, {
        hint: 'The platform that issues it (Kubernetes, SPIFFE, the CI system) should replace it before it expires; check that it still does.',
      });
    }
    this.held = { ...token, stamp };
    return token;
  }

  private remainingMs(token: WorkloadToken): number {
    return token.claims.exp * 1000 - this.now();
  }

  private envValue(name: string): { stamp: string; read: () => Promise<string> } {
    const text = this.env[name];
    if (!text?.trim()) {
      throw new AppError(Code.USAGE, `the environment variable ${name}, which should hold the workload identity token, is ${text === undefined ? 'not set' : 'empty'}`);
    }
    return { stamp: text, read: async () => text };
  }

  private parse(raw: string): WorkloadToken {
    const jwt = raw.trim();
    registerSecret(jwt);
    const where = this.describe();
    const parts = jwt.split('.');
    if (parts.length !== 3 || parts.some((p) => !/^[\w-]+$/.test(p))) {
      throw new AppError(Code.USAGE, `${where} does not hold a JWT (a JWT is three base64url parts separated by "."; it holds ${jwt.length} characters in ${parts.length} part${parts.length === 1 ? '' : 's'})`);
    }
    let payload: unknown;
    try {
      payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    } catch {
      throw new AppError(Code.USAGE, `the JWT in ${where} has a payload that is not JSON`);
    }
    if (!payload || typeof payload !== 'object' || Array.isArray(payload)) throw new AppError(Code.USAGE, `the JWT in ${where} has a payload that is not a JSON object`);
    const p = payload as Record<string, unknown>;
    if (typeof p.exp !== 'number' || !Number.isFinite(p.exp)) {
      throw new AppError(Code.USAGE, `the JWT in ${where} has no numeric "exp" claim, which the JWT bearer grant requires (RFC 7523 §3)`);
    }
    const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
    const aud = typeof p.aud === 'string' ? [p.aud] : Array.isArray(p.aud) ? p.aud.filter((a): a is string => typeof a === 'string') : [];
    return { jwt, claims: { iss: text(p.iss), sub: text(p.sub), aud, exp: p.exp } };
  }
}

/** Which version of the file is there now (a stat, following symlinks: a swapped `..data` link is a new file), and how to read it. */
async function fileVersion(path: string): Promise<{ stamp: string; read: () => Promise<string> }> {
  let info: Stats;
  try {
    info = await stat(path);
  } catch (err) {
    throw new AppError(Code.USAGE, `cannot read the workload identity token file ${path}: ${errorMessage(err)}`, { cause: err });
  }
  return { stamp: `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`, read: () => readSmallRegularFile(path) };
}

/**
 * Reads a file that must be a regular file of at most MAX_TOKEN_BYTES. Opened non-blocking, so a
 * FIFO or device put where the token should be is refused instead of hanging the read.
 */
async function readSmallRegularFile(path: string): Promise<string> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    throw new AppError(Code.USAGE, `cannot read the workload identity token file ${path}: ${errorMessage(err)}`, { cause: err });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new AppError(Code.USAGE, `the workload identity token file ${path} is not a regular file`);
    if (info.size > MAX_TOKEN_BYTES) {
      throw new AppError(Code.USAGE, `the workload identity token file ${path} is ${info.size} bytes; a workload JWT is a few kilobytes (at most ${MAX_TOKEN_BYTES} bytes are read)`);
    }
    const buffer = Buffer.alloc(MAX_TOKEN_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_TOKEN_BYTES) throw new AppError(Code.USAGE, `the workload identity token file ${path} grew past ${MAX_TOKEN_BYTES} bytes while it was read`);
    }
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    await handle.close();
  }
}
