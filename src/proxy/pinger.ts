// `--ping-interval <seconds>`: while nothing has passed either way for that long, the proxy sends
// the server a JSON-RPC `ping` of its own (the client never sees it or its answer). It keeps idle
// connections (and the proxies, load balancers and NATs between) from being dropped, and it finds a
// dead connection before the client's next request does: a ping that fails on the network or gets
// no answer in time is logged, and the connection is rebuilt (see StreamableHttpClient.reconnect).
import { Code, isAppError } from '../errors.js';
import type { Logger } from '../log.js';

export interface PingerOptions {
  intervalMs: number;
  logger: Logger;
  host: string;
  /** Sends one ping; undefined when there is nothing to ping yet (no session). Aborted at the timeout. */
  ping(signal: AbortSignal): Promise<unknown> | undefined;
  /** The connection looks dead. */
  reconnect(): Promise<void>;
}

/** Failures that mean the connection is gone (not an HTTP answer the server chose to give). */
const DEAD: readonly string[] = [Code.UNREACHABLE, Code.UPSTREAM_TIMEOUT, Code.STREAM_CLOSED, Code.NO_RESPONSE, Code.UPSTREAM_TLS];

export class Pinger {
  private last = Date.now();
  private inFlight = false;
  private readonly timer: NodeJS.Timeout;
  private readonly timeoutMs: number;
  private stopped = false;

  constructor(private readonly o: PingerOptions) {
    this.timeoutMs = Math.min(Math.max(o.intervalMs, 2_000), 10_000);
    this.timer = setInterval(() => void this.tick(), Math.max(50, o.intervalMs / 4));
    this.timer.unref();
  }

  /** Traffic passed: the connection is not idle. */
  touch(): void {
    this.last = Date.now();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.inFlight || this.stopped || Date.now() - this.last < this.o.intervalMs) return;
    const abort = new AbortController();
    const sent = this.o.ping(abort.signal);
    if (!sent) return;
    this.inFlight = true;
    const timer = setTimeout(() => abort.abort(), this.timeoutMs);
    try {
      await sent;
      this.o.logger.debug(`ping: ${this.o.host} answered`);
    } catch (err) {
      if (this.stopped) return;
      const timedOut = abort.signal.aborted;
      if (timedOut || isAppError(err) && DEAD.includes(err.code)) {
        this.o.logger.warn(`ping: ${this.o.host} ${timedOut ? `did not answer within ${Math.round(this.timeoutMs / 1000)} s` : `is unreachable (${(err as Error).message})`}; reconnecting`);
        await this.o.reconnect().catch((e: unknown) => this.o.logger.warn(`reconnecting to ${this.o.host} failed: ${(e as Error).message}`));
      } else {
        this.o.logger.debug(`ping: ${this.o.host}: ${(err as Error).message}`);
      }
    } finally {
      clearTimeout(timer);
      this.inFlight = false;
      this.last = Date.now();
    }
  }
}
