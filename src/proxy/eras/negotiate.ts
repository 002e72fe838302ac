// Choosing the route for a client: its era is what it sends first (a 2025 `initialize`, or a request
// carrying the 2026-07-28 envelope); the server's era is learned per SEP-2575 and cached (cache.ts).
//
//  - A 2025 client's `initialize`: with nothing cached, `server/discover` first (a 2026-07-28 server
//    then never sees a request without its envelope); a server that answers it as 2026-07-28 gets
//    the client translated. A server known (cached) to be 2025 gets the initialize at once, without
//    a probe: a 2025 server pays the probe once, not at every start. The initialize's answer is still
//    read: a 2026-07-28 version in it, a -32601 or -32022, or a refusal corrects the verdict.
//  - A 2026-07-28 client's first request: the cached verdict while fresh, else a probe. A 2025-only
//    server gets the 2025 handshake from the proxy (run at once, so a stale verdict shows at once).
//  - A `server/discover` before any route (the SDK v2 stdio client's throw-away probe copy) is
//    answered at once: from the cache, else from a probe that never waits for a sign-in, else
//    locally — never held (a held answer would make the client wait out its probe timeout).
// `--protocol 2025|modern` skips the detection and fixes the server's era.
import { AppError, Code } from '../../errors.js';
import { resultLine, type JsonRpcMessage } from '../jsonrpc.js';
import type { Frame } from '../transports/transport.js';
import { aboutFromInitialize, discoverResult, type ServerAbout } from './about.js';
import { isFresh, type EraCache } from './cache.js';
import { Client2025 } from './client-2025.js';
import type { ClientIdentity } from './codec.js';
import { initializeVerdict, isSignInPending, mightBeModernOnly, probe, type ProbeVerdict } from './detect.js';
import { identityOf } from './modern.js';
import { CodecRoute, type Route, type RouteContext } from './route.js';
import { Server2025 } from './server-2025.js';
import type { ServerModern } from './server-modern.js';

export type ProtocolChoice = 'auto' | '2025' | 'modern';

// The 2026-07-28 codecs load when a server or client of that era shows up: a 2025 client with a
// 2025 server (the common case) starts without them.
const loadClientModern = async () => (await import('./client-modern.js')).ClientModern;
const loadServerModern = async () => (await import('./server-modern.js')).ServerModern;
const loadModernPassThrough = async () => (await import('./modern-pass.js')).ModernPassThrough;

/** What the proxy claims about a server it could not ask (not cached). */
const UNKNOWN_SERVER: ServerAbout = {
  capabilities: { tools: { listChanged: true }, resources: { listChanged: true }, prompts: { listChanged: true } },
};

export class Eras {
  private readonly ctx: RouteContext;

  constructor(private readonly o: { ctx: RouteContext; cache: EraCache; protocol: ProtocolChoice }) {
    this.ctx = o.ctx;
  }

  /** A 2025 client's `initialize`: the route, once the initialize was answered (by the server or here). */
  async for2025Client(first: Frame): Promise<Route> {
    const params = first.message.params ?? {};
    const verdict = await this.verdictFor2025(params);
    if (verdict?.era === 'modern') return this.translate(verdict.about, first);
    // A verdict from this run's probe needs no second look; a cached one, or none, does.
    return this.pass2025(first, this.o.protocol === 'auto', verdict !== undefined && verdict.why !== 'cached', verdict === undefined);
  }

  /** A 2025 client that sent something before initialize (or never initializes): its messages as they are. */
  passThrough2025(): Route {
    return this.route2025();
  }

  /** A 2025 client whose initialize the placeholder answered, now signed in: a session with its params. */
  async reconnect2025(params: unknown): Promise<Route> {
    const verdict = await this.verdictFor2025(params);
    if (verdict?.era === 'modern') return this.translate(verdict.about, undefined, params);
    const route = this.route2025();
    await route.server.connectWith(params);
    return route;
  }

  /** A 2026-07-28 client (its first request is the caller's to send through the route). */
  async forModernClient(identity: ClientIdentity, signIn = true): Promise<Route> {
    const record = await this.o.cache.load();
    let verdict: ProbeVerdict;
    if (this.o.protocol !== 'auto') verdict = this.o.protocol === 'modern' ? { era: 'modern', about: record?.about ?? this.unknown() } : { era: '2025', why: '--protocol 2025' };
    else if (isFresh(record)) verdict = record!.modern ? { era: 'modern', about: record!.about ?? this.unknown() } : { era: '2025', why: 'cached' };
    else verdict = this.learn(await probe(this.ctx, identity, signIn));
    if (verdict.era === 'modern') return new (await loadModernPassThrough())(this.ctx, verdict.about);
    const ClientModern = await loadClientModern();
    const route = new CodecRoute(this.ctx, (port, write) => new ClientModern(this.ctx, port, write), () => new Server2025(this.ctx));
    try {
      await (route.server as Server2025).connect(identity, signIn);
    } catch (err) {
      // A cached verdict gone stale: the server now serves 2026-07-28 only.
      if (this.o.protocol !== 'auto' || !mightBeModernOnly(err)) throw err;
      const now = this.learn(await probe(this.ctx, identity, signIn));
      if (now.era !== 'modern') throw err;
      return new (await loadModernPassThrough())(this.ctx, now.about);
    }
    if (this.o.protocol === 'auto') void this.o.cache.save({ about: route.about });
    return route;
  }

  /**
   * Answers a `server/discover` that came before any route, promptly: from the cache, else from a
   * probe that does not wait for a sign-in, else with a local answer. Returns the route the probe
   * opened, if it did.
   */
  async discover(message: JsonRpcMessage): Promise<Route | undefined> {
    const answer = (about: ServerAbout) => this.ctx.toClient(resultLine(message.id as string | number, discoverResult(about)));
    const record = await this.o.cache.load();
    if (record?.about && (this.o.protocol !== 'auto' || isFresh(record))) return void answer(record.about);
    try {
      // Neither the probe nor a handshake may wait for a sign-in here: a 401 ends them (local answer).
      const route = await this.forModernClient(identityOf(message), false);
      answer(route.about ?? record?.about ?? this.unknown());
      return route;
    } catch (err) {
      this.ctx.logger.debug(`answering server/discover without the server (${(err as Error).message})`);
      answer(record?.about ?? this.unknown());
      return undefined;
    }
  }

  /** The answer to `server/discover` once a route is open (or from the placeholder: `instructions`). */
  discoverAnswer(message: JsonRpcMessage, route: Route | undefined, instructions?: string): string {
    const about = route?.about ?? { ...this.unknown(), ...(instructions ? { instructions } : {}) };
    return resultLine(message.id as string | number, discoverResult(about));
  }

  /** For a 2025 client: modern (with what discover said), 2025, or undefined when nothing was learned. */
  private async verdictFor2025(params: unknown): Promise<ProbeVerdict | undefined> {
    if (this.o.protocol === '2025') return { era: '2025', why: '--protocol 2025' };
    const identity = identityOf2025(params);
    if (this.o.protocol === 'modern') {
      const verdict = await probe(this.ctx, identity, true);
      if (verdict.era === 'modern') return verdict;
      throw new AppError(Code.ERA_NEGOTIATION_FAILED, `The MCP server at ${this.ctx.host} does not speak MCP 2026-07-28 (${verdict.why}).`, {
        hint: 'Run the proxy with --protocol auto (the default) or --protocol 2025.',
      });
    }
    const record = await this.o.cache.load();
    if (record?.modern === false) return { era: '2025', why: 'cached' };
    try {
      return this.learn(await probe(this.ctx, identity, true));
    } catch (err) {
      if (isSignInPending(err)) throw err;
      this.ctx.logger.debug(`server/discover told nothing (${(err as Error).message}); trying initialize`);
      return undefined;
    }
  }

  /**
   * The 2025 initialize as it is. With `detect`, its answer is read before the client sees it: the
   * server may turn out to speak 2026-07-28 after all (then the client is translated). `probed`: this
   * run asked server/discover already; `unknown`: nothing is known yet (a 2025 answer is cached then).
   */
  private async pass2025(first: Frame, detect: boolean, probed: boolean, unknown = false): Promise<Route> {
    const route = this.route2025();
    let answer: Frame | undefined;
    try {
      await route.server.toServer(first, { onresponse: (f) => ((answer = f), true) });
    } catch (err) {
      if (detect && !probed && mightBeModernOnly(err)) {
        const verdict = this.learn(await probe(this.ctx, identityOf2025(first.message.params), true).catch(() => undefined));
        if (verdict?.era === 'modern') return this.translate(verdict.about, first);
      }
      throw err;
    }
    const verdict = detect ? initializeVerdict(answer!.message) : '2025';
    if (verdict === 'modern') {
      this.ctx.logger.info(`${this.ctx.host} answered initialize as MCP 2026-07-28: translating for this 2025 client`);
      return this.translate(this.learn({ era: 'modern', about: aboutFromInitialize(answer!.message.result as Record<string, unknown>) }).about, first);
    }
    if (verdict === 'probe' && !probed) {
      const now = this.learn(await probe(this.ctx, identityOf2025(first.message.params), true).catch(() => undefined));
      if (now?.era === 'modern') return this.translate(now.about, first);
    }
    if (detect && unknown) this.learn({ era: '2025', why: 'initialize' });
    route.deliver(answer!);
    return route;
  }

  /** A 2025 client in front of a 2026-07-28 server; `first` (its initialize) is answered here. */
  private async translate(about: ServerAbout, first?: Frame, params?: unknown): Promise<Route> {
    const ServerModernCodec = await loadServerModern();
    const route = new CodecRoute(this.ctx, (_port, write) => new Client2025(write), (port) => new ServerModernCodec(this.ctx, port, about, params));
    if (first) await route.first(first);
    else (route.server as ServerModern).startListening(); // after a sign-in: the client's notifications/initialized went to the placeholder
    return route;
  }

  private route2025(): CodecRoute & { server: Server2025 } {
    return new CodecRoute(this.ctx, (_port, write) => new Client2025(write), () => new Server2025(this.ctx)) as CodecRoute & { server: Server2025 };
  }

  /** Caches what a probe found (with --protocol auto; written in the background, off the client's path); returns it. */
  private learn<T extends ProbeVerdict | undefined>(verdict: T): T {
    if (this.o.protocol === 'auto' && verdict) void this.o.cache.save(verdict.era === 'modern' ? { modern: true, about: verdict.about } : { modern: false });
    return verdict;
  }

  private unknown(): ServerAbout {
    return { ...UNKNOWN_SERVER, serverInfo: this.ctx.ownInfo };
  }
}

function identityOf2025(initializeParams: unknown): ClientIdentity {
  const p = (initializeParams ?? {}) as { clientInfo?: unknown; capabilities?: unknown };
  return { clientInfo: p.clientInfo, clientCapabilities: p.capabilities ?? {} };
}
