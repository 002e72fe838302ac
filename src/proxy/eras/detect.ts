// Telling a server's era from its answers (SEP-2575), with the rules the SDK v2 client uses for its
// `server/discover` probe (@modelcontextprotocol/client src/client/probeClassifier.ts): a result
// naming 2026-07-28 is modern; -32022 naming 2026-07-28 as supported asks for one corrected retry;
// any other JSON-RPC error, or a 4xx, is a 2025 server; auth is never evidence, and neither is a
// 5xx or a network failure. And from the answer to a 2025 `initialize` sent without probing: one
// that says `protocolVersion: "2026-07-28"`, or a -32601/-32022 in it, or a refusal of it, means a
// probe is worth it.
import { Code, isAppError } from '../../errors.js';
import type { JsonRpcMessage } from '../jsonrpc.js';
import { UpstreamError } from '../transports/errors.js';
import { aboutFromDiscover, type ServerAbout } from './about.js';
import type { ClientIdentity, CodecContext } from './codec.js';
import { isModernVersion, META, MODERN_VERSION, ModernErrorCode } from './modern.js';
import { requestThrough } from './route.js';

export type ProbeVerdict = { era: 'modern'; about: ServerAbout } | { era: '2025'; why: string };

const METHOD_NOT_FOUND = -32601;

/** The `server/discover` request a probe sends, with the client's envelope (or the proxy's own). */
export function probeBody(id: string, identity: ClientIdentity): string {
  const meta: Record<string, unknown> = { [META.protocolVersion]: MODERN_VERSION };
  if (identity.clientInfo !== undefined) meta[META.clientInfo] = identity.clientInfo;
  meta[META.clientCapabilities] = identity.clientCapabilities ?? {};
  return JSON.stringify({ jsonrpc: '2.0', id, method: 'server/discover', params: { _meta: meta } });
}

const PROBE_HEADERS = { 'mcp-protocol-version': MODERN_VERSION, 'mcp-method': 'server/discover' };

/** Asks `server/discover`. `signIn`: whether a 401 may wait for a (browser) sign-in. Rethrows what is no evidence. */
export async function probe(ctx: CodecContext, identity: ClientIdentity, signIn: boolean): Promise<ProbeVerdict> {
  for (let corrected = false; ;) {
    let verdict: ProbeVerdict | 'corrective';
    try {
      const response = await requestThrough(ctx, (f, o) => ctx.upstream.send(f, { ...o, headers: PROBE_HEADERS, signIn }), 'server/discover', undefined, undefined, (id) => probeBody(id, identity));
      verdict = classifyProbe({ response });
    } catch (error) {
      verdict = classifyProbe({ error });
    }
    if (verdict !== 'corrective') return verdict;
    if (corrected) return { era: '2025', why: `server/discover was refused twice for ${MODERN_VERSION}, a version it says it supports` };
    corrected = true;
  }
}

/**
 * The verdict on a probe's outcome: its response, or the error its send failed with. Rethrows what
 * says nothing about the era (sign-in needed, 5xx, unreachable, timeout).
 */
export function classifyProbe(outcome: { response: JsonRpcMessage } | { error: unknown }): ProbeVerdict | 'corrective' {
  if ('response' in outcome) {
    const result = outcome.response.result as Record<string, unknown> | undefined;
    if (result && typeof result === 'object') {
      const versions = Array.isArray(result.supportedVersions) ? result.supportedVersions : [];
      if (versions.includes(MODERN_VERSION)) return { era: 'modern', about: aboutFromDiscover(result) };
      return { era: '2025', why: `server/discover offers ${versions.length ? versions.join(', ') : 'no version'} but not ${MODERN_VERSION}` };
    }
    return rpcVerdict(outcome.response.error);
  }
  const err = outcome.error;
  if (err instanceof UpstreamError && err.status !== undefined && err.status >= 400 && err.status < 500 && err.status !== 401 && err.status !== 403) {
    const error = rpcErrorOf(err.body);
    return error ? rpcVerdict(error) : { era: '2025', why: `server/discover was refused with HTTP ${err.status}` };
  }
  throw err;
}

function rpcVerdict(error: JsonRpcMessage['error']): ProbeVerdict | 'corrective' {
  if (error?.code === ModernErrorCode.UnsupportedProtocolVersion) {
    const supported = (error.data as { supported?: unknown } | undefined)?.supported;
    if (Array.isArray(supported) && supported.includes(MODERN_VERSION)) return 'corrective';
  }
  return { era: '2025', why: `server/discover failed: ${error?.message ?? 'no result'} (${error?.code ?? '?'})` };
}

function rpcErrorOf(body: string | undefined): JsonRpcMessage['error'] | undefined {
  try {
    const error = (JSON.parse(body ?? '') as JsonRpcMessage).error;
    return error && typeof error.code === 'number' ? error : undefined;
  } catch {
    return undefined;
  }
}

/** What the answer to a 2025 `initialize` says: a 2025 session, a modern server, or worth a probe. */
export function initializeVerdict(answer: JsonRpcMessage): '2025' | 'modern' | 'probe' {
  const version = (answer.result as { protocolVersion?: unknown } | undefined)?.protocolVersion;
  if (isModernVersion(version)) return 'modern';
  const code = answer.error?.code;
  return code === METHOD_NOT_FOUND || code === ModernErrorCode.UnsupportedProtocolVersion ? 'probe' : '2025';
}

/** A refusal of a 2025 `initialize` (or its handshake) that might mean "2026-07-28 only": worth a probe. */
export function mightBeModernOnly(err: unknown): boolean {
  if (isAppError(err, Code.INITIALIZE_FAILED, Code.ERA_NEGOTIATION_FAILED)) return true;
  if (!(err instanceof UpstreamError) || err.status === undefined) return false;
  return err.status === 400 || err.status === 404 || err.status === 405 || err.status === 406;
}

/** Sign-in is what stopped it (the bridge answers with the placeholder). */
export function isSignInPending(err: unknown): boolean {
  return isAppError(err, Code.SIGN_IN_PENDING, Code.SIGN_IN_REQUIRED);
}
