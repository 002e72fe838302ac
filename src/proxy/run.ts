// The proxy: the client's stdio on one side, the server's HTTP transport on the other, and the
// bridge between them. Runs until the client closes stdin or the signal aborts; the session is ended
// (DELETE) before it resolves.
import type { Readable, Writable } from 'node:stream';
import type { Authorizer } from '../authorization.js';
import type { HttpClient } from '../http/client.js';
import type { Logger } from '../log.js';
import { Bridge } from './bridge.js';
import { MemoryEraCache, type EraCache } from './eras/cache.js';
import type { ProtocolChoice } from './eras/negotiate.js';
import { DEFAULT_LIMITS, type ProxyLimits } from './limits.js';
import type { ToolFilterOptions } from './tool-filter.js';
import { HttpChannel } from './transports/channel.js';
import { FallbackTransport, type TransportChoice } from './transports/fallback.js';
import { StdioTransport } from './transports/stdio.js';
import { RequestTracker } from './transports/tracker.js';

export type { TransportChoice } from './transports/fallback.js';
export type { ProtocolChoice } from './eras/negotiate.js';

export interface ProxyOptions {
  url: string;
  headers?: Record<string, string>;
  authorizer: Authorizer;
  logger: Logger;
  stdin?: Readable;
  stdout?: Writable;
  /** Message size and time bounds (default: DEFAULT_LIMITS). */
  limits?: Partial<ProxyLimits>;
  /** Stops the proxy when aborted. Default: SIGINT / SIGTERM (see exitOnSignals). */
  signal?: AbortSignal;
  /** The HTTP layer (keep-alive agents, HTTP(S)_PROXY); closed when the proxy stops. */
  http: HttpClient;
  /** The server's protocol era: detected (`auto`, the default) or fixed. */
  protocol?: ProtocolChoice;
  /** What was learned about the server's era, kept across runs (default: this process only). */
  eraCache?: EraCache;
  /** Streamable HTTP, the HTTP+SSE transport of 2024-11-05, or either (`auto`, the default; the verdict is kept in eraCache). */
  transport?: TransportChoice;
  /** Ping the server after this long without traffic (ms); default never. */
  pingIntervalMs?: number;
  /** Which tools the client sees and may call (`--ignore-tool`, `--allow-tool`, `--read-only`); default all. */
  tools?: ToolFilterOptions;
}

export async function runProxy(opts: ProxyOptions): Promise<void> {
  const termination = opts.signal ? undefined : exitOnSignals();
  const signal = opts.signal ?? termination!.signal;
  const eraCache: EraCache = opts.eraCache ?? new MemoryEraCache();
  const limits: ProxyLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  // Read now, so that the client's first message does not wait for the file.
  eraCache.load().catch(() => {});

  const tracker = new RequestTracker(limits.requestTimeoutMs);
  const channel = new HttpChannel({ url: opts.url, headers: opts.headers, authorizer: opts.authorizer, http: opts.http, logger: opts.logger, limits });
  const upstream = new FallbackTransport(channel, tracker, opts.transport ?? 'auto', {
    load: async () => (await eraCache.load())?.transport,
    save: (transport) => eraCache.save({ transport }),
  });
  const client = new StdioTransport({ input: opts.stdin, output: opts.stdout, logger: opts.logger, maxLineBytes: limits.maxMessageBytes });
  // The tool filter and the pinger load only when asked for (most runs use neither).
  const tools = opts.tools && (opts.tools.ignore?.length || opts.tools.allow?.length || opts.tools.readOnly) ? (await import('./tool-filter.js')).ToolFilter.from(opts.tools) : undefined;
  const { Pinger } = opts.pingIntervalMs ? await import('./pinger.js') : { Pinger: undefined };
  const pinger = Pinger && ((o: Pick<ConstructorParameters<typeof Pinger>[0], 'ping' | 'reconnect'>) => new Pinger({ ...o, intervalMs: opts.pingIntervalMs!, logger: opts.logger, host: channel.host }));
  const bridge = new Bridge({ client, upstream, tracker, authorizer: opts.authorizer, logger: opts.logger, host: channel.host, protocol: opts.protocol ?? 'auto', eraCache, tools, pinger });

  const stopped = new Promise<void>((resolve) => {
    client.onclose = resolve;
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await upstream.start();
  await client.start();
  await stopped;

  bridge.close();
  await client.close();
  tracker.closeAll();
  await upstream.close();
  await eraCache.settled?.();
  opts.http.close();
  termination?.dispose();
}

/** Hard limit for a signal-triggered shutdown; the DELETE inside it is bounded well below. */
const FORCED_EXIT_MS = 1_000;

/**
 * An AbortSignal that fires on SIGINT or SIGTERM. After the signal the process exits by itself
 * within FORCED_EXIT_MS even if something else keeps the event loop alive.
 */
export function exitOnSignals(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = () => {
    controller.abort();
    setTimeout(() => process.exit(0), FORCED_EXIT_MS).unref();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
