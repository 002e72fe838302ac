import { isIPv4 } from 'node:net';
import { AppError, Code, type ErrorCode } from './errors.js';

/** Loopback means all of 127.0.0.0/8, ::1 and localhost (RFC 8252 §7.3, RFC 6761 §6.3). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (host === '::1' || host === '0:0:0:0:0:0:0:1') return true;
  if (isIPv4(host)) return host.startsWith('127.');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
  return Boolean(mapped && mapped[1]!.startsWith('127.'));
}

/** True when plain http:// is acceptable for this URL: loopback only. */
export function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && isLoopbackHost(url.hostname);
}

/**
 * Parses `raw` and refuses anything but https:// or http:// on a loopback address. `what` names
 * the URL in the message ("server URL", "authorization server", ...); `code` is USAGE for what the
 * user typed, INVALID_RESPONSE for a URL a server gave us.
 */
export function parseSecureUrl(raw: string, what: string, code: ErrorCode = Code.USAGE): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError(code, `${what} "${raw}" is not a valid URL`);
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:') {
    if (isLoopbackHost(url.hostname)) return url;
    throw new AppError(code, `${what} "${raw}" uses plain http:// on a non-loopback host`, {
      hint: 'Use https://. Plain http:// is only allowed on 127.0.0.0/8, ::1 and localhost.',
    });
  }
  throw new AppError(code, `${what} "${raw}" must be an https:// URL`);
}
