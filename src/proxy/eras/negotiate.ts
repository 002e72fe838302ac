// Choosing the pairing for a client: its era is what it sends first (a 2025 `initialize`, or a
// request carrying the 2026-07-28 envelope); the server's era is learned once and cached.
//
//  - A 2025 client's `initialize` goes to the server as it is (no probe, no added round trip). Only
//    when the server refuses it for its protocol version (or refuses it in a way a probe shows to
//    mean "2026-07-28 only") does the bridge ask `server/discover` and translate; the cache then
//    sends later copies straight to `server/discover`.
//  - A 2026-07-28 client's first request: the cached verdict, else a `server/discover` probe (the
//    SDK v2 client's rules: auth is not evidence, a 5xx is not an answer). A 2025-only server gets
//    the 2025 handshake from the bridge.
//  - A `server/discover` before any pairing (the SDK v2 stdio client's throw-away probe copy) is
//    answered at once: from the cache, else from a probe that never waits for a sign-in, else
//    locally — never held (a held answer would make the client wait out its probe timeout).
// `--protocol 2025|modern` skips the detection and fixes the server's era.
import type { JsonRpcMessage } from '../jsonrpc.js';
import { resultLine } from '../jsonrpc.js';
import { AppError, Code, isAppError } from '../../errors.js';
import { KNOWN_PROTOCOL_VERSIONS, PlaceholderServer } from '../placeholder.js';
import { aboutFromInitialize, discoverResult, type ServerAbout } from './about.js';
import { isFresh, type EraCache } from './cache.js';
import { classifyProbe, mightBeModernOnly, probeBody, PROBE_HEADERS, refusedAsModernOnly, type ProbeVerdict } from './detect.js';
import { LegacyPassThrough } from './legacy-legacy.js';
import { envelopeOf, META } from './modern.js';
import { describe, type Pairing, type PairingContext } from './pairing.js';

export type ProtocolChoice = 'auto' | '2025' | 'modern';

export interface ErasOptions {
  ctx: PairingContext;
  cache: EraCache;
  protocol: ProtocolChoice;
}

/** The client side of a modern envelope: what the bridge presents to a server on the client's behalf. */
export interface ClientIdentity {
  clientInfo?: unknown;
  clientCapabilities?: unknown;
}

// The translating pairings load when a server or client of the other era shows up: a 2025 client
// with a 2025 server (the common case) starts without them.
const loadLegacyToModern = async () => (await import('./legacy-modern.js')).LegacyToModern;
const loadModernToLegacy = async () => (await import('./modern-legacy.js')).ModernToLegacy;
const loadModernPassThrough = async () => (await import('./modern-modern.js')).ModernPassThrough;

/** What the bridge claims about a server it could not ask (not cached). */
const UNKNOWN_SERVER: ServerAbout = {
  capabilities: { tools: { listChanged: true }, resources: { listChanged: true }, prompts: { listChanged: true } },
};

export class Eras {
  private readonly ctx: PairingContext;

  constructor(private readonly o: ErasOptions) {
    this.ctx = o.ctx;
  }

  /** The identity in a modern client's message. */
  static identityOf(message: JsonRpcMessage): ClientIdentity {
    const envelope = envelopeOf(message) ?? {};
    return { clientInfo: envelope[META.clientInfo], clientCapabilities: envelope[META.clientCapabilities] };
  }

  /**
   * Connects a 2025 client. With `first` (its `initialize`), that message is answered, by the server
   * or by the bridge; without (after a sign-in), a session is started with `initializeParams`.
   */
  async for2025Client(initializeParams: unknown, first?: { line: string; message: JsonRpcMessage }): Promise<Pairing> {
    const record = await this.o.cache.load();
    if (this.o.protocol === 'modern') return this.legacyToModern(initializeParams, first);
    if (this.o.protocol === 'auto' && record?.legacyRefused) {
      try {
        return await this.legacyToModern(initializeParams, first);
      } catch (err) {
        // The cache was wrong: the server no longer speaks 2026-07-28 only.
        if (!isAppError(err, Code.ERA_NEGOTIATION_FAILED)) throw err;
        await this.o.cache.save({ legacyRefused: false, modern: false });
      }
    }
    try {
      if (first) {
        await this.ctx.upstream.send(describe(first.line, first.message));
      } else {
        const result = await this.ctx.upstream.initialize(initializeParams);
        const requested = (initializeParams as { protocolVersion?: unknown } | undefined)?.protocolVersion;
        if (result.protocolVersion !== PlaceholderServer.negotiate(requested)) {
          this.ctx.logger.warn(`${this.ctx.host} chose protocol version ${String(result.protocolVersion)}, not the one the client was given`);
        }
      }
      return new LegacyPassThrough(this.ctx);
    } catch (err) {
      if (this.o.protocol !== 'auto') throw err;
      const modernOnly = refusedAsModernOnly(err) || (mightBeModernOnly(err) && (await this.probe(identityOf2025(initializeParams), true).catch(() => undefined))?.era === 'modern');
      if (!modernOnly) throw err;
      this.ctx.logger.info(`${this.ctx.host} serves MCP 2026-07-28 only: translating for this 2025 client`);
      await this.o.cache.save({ legacyRefused: true });
      return this.legacyToModern(initializeParams, first);
    }
  }

  /** Connects a 2026-07-28 client (its first request is the caller's to send through the pairing). */
  async forModernClient(identity: ClientIdentity): Promise<Pairing> {
    const record = await this.o.cache.load();
    let era: ProbeVerdict['era'];
    let about = record?.about;
    if (this.o.protocol !== 'auto') {
      era = this.o.protocol;
    } else if (isFresh(record)) {
      era = record!.modern ? 'modern' : '2025';
    } else {
      const verdict = await this.probe(identity, true);
      era = verdict.era;
      if (verdict.era === 'modern') about = verdict.about;
      await this.o.cache.save(verdict.era === 'modern' ? { modern: true, about } : { modern: false });
    }
    if (era === 'modern') return new (await loadModernPassThrough())(this.ctx, about);
    return this.modernToLegacy(identity);
  }

  /**
   * Answers a `server/discover` that came before any pairing, promptly: from the cache, else from a
   * probe that does not wait for a sign-in, else with a local answer. Returns the pairing the probe
   * opened, if it did.
   */
  async discover(message: JsonRpcMessage): Promise<Pairing | undefined> {
    const id = message.id as string | number;
    const answer = (about: ServerAbout) => this.ctx.toClient(resultLine(id, discoverResult(about)));
    const record = await this.o.cache.load();
    if (record?.about && (this.o.protocol !== 'auto' || isFresh(record))) {
      answer(record.about);
      return undefined;
    }
    const identity = Eras.identityOf(message);
    try {
      // Neither the probe nor a handshake may wait for a sign-in here: a 401 ends them (local answer).
      const verdict: ProbeVerdict = this.o.protocol === '2025' ? { era: '2025', why: '--protocol 2025' } : await this.probe(identity, false);
      if (verdict.era === 'modern' || this.o.protocol === 'modern') {
        const about = verdict.era === 'modern' ? verdict.about : record?.about ?? { ...UNKNOWN_SERVER, serverInfo: this.ctx.ownInfo };
        if (this.o.protocol === 'auto') await this.o.cache.save({ modern: true, about });
        const pairing = new (await loadModernPassThrough())(this.ctx, about);
        answer(about);
        return pairing;
      }
      if (this.o.protocol === 'auto') await this.o.cache.save({ modern: false });
      const pairing = await this.modernToLegacy(identity, false);
      answer(pairing.about!);
      return pairing;
    } catch (err) {
      this.ctx.logger.debug(`answering server/discover without the server (${(err as Error).message})`);
      answer(record?.about ?? { ...UNKNOWN_SERVER, serverInfo: this.ctx.ownInfo });
      return undefined;
    }
  }

  /** The answer to `server/discover` once a pairing is open (or from the placeholder: `instructions`). */
  discoverAnswer(message: JsonRpcMessage, pairing: Pairing | undefined, instructions?: string): string {
    const about = pairing?.about ?? { ...UNKNOWN_SERVER, serverInfo: this.ctx.ownInfo, ...(instructions ? { instructions } : {}) };
    return resultLine(message.id as string | number, discoverResult(about));
  }

  // ── the pairings that need a connection first ────────────────────────────────────────────

  private async legacyToModern(initializeParams: unknown, first?: { line: string; message: JsonRpcMessage }): Promise<Pairing> {
    const verdict = await this.probe(identityOf2025(initializeParams), true);
    if (verdict.era !== 'modern') {
      throw new AppError(Code.ERA_NEGOTIATION_FAILED, `The MCP server at ${this.ctx.host} does not speak MCP 2026-07-28 (${verdict.why}).`, {
        hint: 'Run the proxy with --protocol auto (the default) or --protocol 2025.',
      });
    }
    if (this.o.protocol === 'auto') await this.o.cache.save({ modern: true, about: verdict.about });
    const pairing = new (await loadLegacyToModern())(this.ctx, verdict.about, initializeParams);
    if (first) this.ctx.toClient(pairing.initializeResponse(first.message.id as string | number, initializeParams));
    else pairing.startListening(); // after a sign-in: the client's notifications/initialized went to the placeholder
    return pairing;
  }

  /** `signIn: false`: a 401 fails the handshake (for answering `server/discover`, which must not wait). */
  private async modernToLegacy(identity: ClientIdentity, signIn = true): Promise<Pairing> {
    let result: Record<string, unknown>;
    try {
      result = await this.ctx.upstream.initialize({
        protocolVersion: KNOWN_PROTOCOL_VERSIONS[0],
        capabilities: identity.clientCapabilities ?? {},
        clientInfo: identity.clientInfo ?? this.ctx.ownInfo,
      }, { signIn });
    } catch (err) {
      // A cached verdict gone stale: the server now serves 2026-07-28 only.
      if (this.o.protocol === 'auto' && (refusedAsModernOnly(err) || mightBeModernOnly(err))) {
        const verdict = await this.probe(identity, signIn);
        if (verdict.era === 'modern') {
          await this.o.cache.save({ modern: true, about: verdict.about });
          return new (await loadModernPassThrough())(this.ctx, verdict.about);
        }
      }
      throw err;
    }
    const about = aboutFromInitialize(result);
    if (this.o.protocol === 'auto') await this.o.cache.save({ about });
    return new (await loadModernToLegacy())(this.ctx, about);
  }

  /** `server/discover`, classified. `signIn`: whether a 401 may wait for a (browser) sign-in. */
  private async probe(identity: ClientIdentity, signIn: boolean): Promise<ProbeVerdict> {
    let response: JsonRpcMessage;
    try {
      response = await this.ctx.upstream.call('server/discover', undefined, {
        build: (id) => probeBody(id, identity),
        headers: PROBE_HEADERS,
        stateless: true,
        signIn,
      });
    } catch (error) {
      return classifyProbe({ error });
    }
    return classifyProbe({ response });
  }
}

function identityOf2025(initializeParams: unknown): ClientIdentity {
  const p = (initializeParams ?? {}) as { clientInfo?: unknown; capabilities?: unknown };
  return { clientInfo: p.clientInfo, clientCapabilities: p.capabilities ?? {} };
}
