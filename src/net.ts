import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, isIPv4 } from 'node:net';
import { AppError, Code, type ErrorCode } from './errors.js';

/**
 * Loopback means all of 127.0.0.0/8, ::1 and localhost (RFC 8252 §7.3, RFC 6761 §6.3). A name
 * (`localhost`, `*.localhost`) is taken at its word here; the HTTP layer resolves it before
 * connecting and refuses an address that is not loopback (see loopbackLookup).
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = bare(hostname);
  return isLocalhostName(host) || isLoopbackAddress(host);
}

/** `localhost` or a name under it (RFC 6761 §6.3): loopback by name, to be checked when resolved. */
export function isLocalhostName(hostname: string): boolean {
  const host = bare(hostname);
  return host === 'localhost' || host.endsWith('.localhost');
}

/** An IP address in 127.0.0.0/8, ::1, or an IPv4-mapped loopback address. */
export function isLoopbackAddress(address: string): boolean {
  const host = bare(address);
  if (host === '::1' || host === '0:0:0:0:0:0:0:1') return true;
  if (isIPv4(host)) return host.startsWith('127.');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
  return Boolean(mapped && mapped[1]!.startsWith('127.'));
}

function bare(hostname: string): string {
  return hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

/** True when plain http:// is acceptable for this URL: loopback only. */
export function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && isLoopbackHost(url.hostname);
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
/** The shape of dns.lookup as node:net calls it (the `lookup` option of a request). */
export type Lookup = (hostname: string, options: { all?: boolean; family?: number | string }, callback: LookupCallback) => void;

/**
 * A `lookup` for names trusted as loopback (`localhost`, `*.localhost`): resolves with `resolve`
 * (dns.lookup by default) and keeps loopback addresses only. A name that resolves elsewhere fails
 * with ENOTLOOPBACK: a token meant for a local server must not reach another host because a
 * resolver says so (RFC 6761 §6.3 leaves resolving `*.localhost` to the resolver).
 */
export function loopbackLookup(resolve: Lookup = dnsLookup as unknown as Lookup): Lookup {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (err, found) => {
      if (err) return callback(err, options.all ? [] : '');
      const all = (Array.isArray(found) ? found : [{ address: found, family: isIP(found) }]) as LookupAddress[];
      const loopback = all.filter((a) => isLoopbackAddress(a.address));
      if (loopback.length === 0) {
        const error: NodeJS.ErrnoException = new Error(`${hostname} resolves to ${all.map((a) => a.address).join(', ') || 'nothing'}, not to a loopback address; refusing to connect`);
        error.code = 'ENOTLOOPBACK';
        return callback(error, options.all ? [] : '');
      }
      if (options.all) return callback(null, loopback);
      callback(null, loopback[0]!.address, loopback[0]!.family);
    });
  };
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
  if (url.username || url.password) {
    // Never echoed (the password is a secret) and never kept: the URL names the sign-in in the state
    // file and in keychain account names, and would be sent on to every server.
    url.username = '';
    url.password = '';
    throw new AppError(code, `${what} ${url.href} has credentials in it (user:password@): they would be sent to every server and kept in the sign-in's name`, {
      hint: 'Remove them from the URL; pass a key with --header "Name: ${VAR}" (or --header-file) instead.',
    });
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
