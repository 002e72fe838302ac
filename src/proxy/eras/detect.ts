// Telling a server's era from its answers, with the rules the SDK v2 client uses for its
// `server/discover` probe (auth is never evidence; a 5xx or a network failure is not an answer).
import { Code, isAppError } from '../../errors.js';
import type { JsonRpcMessage } from '../jsonrpc.js';
import { UpstreamError } from '../upstream/errors.js';
import { aboutFromDiscover, type ServerAbout } from './about.js';
import { isModernVersion, META, MODERN_VERSION, ModernErrorCode } from './modern.js';

export type ProbeVerdict = { era: 'modern'; about: ServerAbout } | { era: '2025'; why: string };

/** The `server/discover` request a probe sends (the envelope is the client's, or the proxy's own). */
export function probeBody(id: string, envelope: { clientInfo?: unknown; clientCapabilities?: unknown }): string {
  const meta: Record<string, unknown> = { [META.protocolVersion]: MODERN_VERSION };
  if (envelope.clientInfo !== undefined) meta[META.clientInfo] = envelope.clientInfo;
  meta[META.clientCapabilities] = envelope.clientCapabilities ?? {};
  return JSON.stringify({ jsonrpc: '2.0', id, method: 'server/discover', params: { _meta: meta } });
}

export const PROBE_HEADERS = { 'mcp-protocol-version': MODERN_VERSION, 'mcp-method': 'server/discover' };

/**
 * The verdict on a probe's outcome: its response, or the error its send failed with. Rethrows what
 * says nothing about the era (sign-in needed, 5xx, unreachable, timeout).
 */
export function classifyProbe(outcome: { response: JsonRpcMessage } | { error: unknown }): ProbeVerdict {
  if ('response' in outcome) {
    const { response } = outcome;
    const result = response.result as Record<string, unknown> | undefined;
    if (result && typeof result === 'object') {
      const versions = Array.isArray(result.supportedVersions) ? result.supportedVersions : [];
      if (versions.includes(MODERN_VERSION)) return { era: 'modern', about: aboutFromDiscover(result) };
      return { era: '2025', why: `server/discover offers ${versions.length ? versions.join(', ') : 'no version'} but not ${MODERN_VERSION}` };
    }
    return { era: '2025', why: `server/discover failed: ${response.error?.message ?? 'no result'} (${response.error?.code ?? '?'})` };
  }
  const err = outcome.error;
  if (err instanceof UpstreamError && err.status !== undefined && err.status >= 400 && err.status < 500 && err.status !== 401 && err.status !== 403) {
    return { era: '2025', why: `server/discover was refused with HTTP ${err.status}` };
  }
  throw err;
}

/**
 * True when a 2025 `initialize` was refused because the server speaks 2026-07-28 only: a 4xx whose
 * JSON-RPC error is -32022 (unsupported protocol version) naming modern revisions only.
 */
export function refusedAsModernOnly(err: unknown): boolean {
  if (!(err instanceof UpstreamError) || !err.body || err.status === undefined || err.status < 400 || err.status >= 500) return false;
  try {
    const body = JSON.parse(err.body) as JsonRpcMessage;
    if (body.error?.code !== ModernErrorCode.UnsupportedProtocolVersion) return false;
    const supported = (body.error.data as { supported?: unknown } | undefined)?.supported;
    return Array.isArray(supported) && supported.length > 0 && supported.every(isModernVersion);
  } catch {
    return false;
  }
}

/** A refusal of a 2025 `initialize` that might mean "modern only" and is worth a probe to find out. */
export function mightBeModernOnly(err: unknown): boolean {
  if (!(err instanceof UpstreamError) || err.status === undefined) return false;
  return err.status === 400 || err.status === 404 || err.status === 405 || err.status === 406;
}

/** Sign-in is what stopped it (the bridge answers with the placeholder). */
export function isSignInPending(err: unknown): boolean {
  return isAppError(err, Code.SIGN_IN_PENDING, Code.SIGN_IN_REQUIRED);
}
