// Runs runProxy in-process on PassThrough streams, with an SDK Client (or raw lines) on the stdio side.
import { PassThrough } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Authorizer, BearerChallenge } from '../../src/authorization.js';
import { AppError, Code } from '../../src/errors.js';
import { HttpClient } from '../../src/http/client.js';
import { runProxy } from '../../src/proxy/run.js';
import type { ProxyLimits } from '../../src/proxy/limits.js';
import type { EraCache } from '../../src/proxy/eras/cache.js';
import type { ToolFilterOptions } from '../../src/proxy/tool-filter.js';
import { createLogger } from '../../src/log.js';

/**
 * An in-test Authorizer: a current token (or none), tokens to rotate to on 401, a token for
 * step-up, and a sign-in switch. Like the real one, a 401 without a sign-in waits for signIn() up to
 * `holdMs`, then answers SIGN_IN_PENDING.
 */
export class TestAuthorizer implements Authorizer {
  unauthorized: Array<{ rejected: string | undefined; challenge: BearerChallenge }> = [];
  insufficientScope: Array<{ rejected: string | undefined; challenge: BearerChallenge }> = [];
  private readyWaiters: Array<() => void> = [];

  constructor(private token?: string, private readonly opts: { rotateTo?: string[]; stepUpTo?: string; holdMs?: number } = {}) {}

  async getToken(): Promise<string | undefined> {
    return this.token;
  }

  async onUnauthorized(rejected: string | undefined, challenge: BearerChallenge): Promise<string> {
    this.unauthorized.push({ rejected, challenge });
    if (rejected === undefined) {
      if (this.token) return this.token;
      await Promise.race([
        this.whenReady(),
        new Promise((_, reject) => setTimeout(() => reject(new AppError(Code.SIGN_IN_PENDING, 'Sign-in is required: a browser tab has been opened.')), this.opts.holdMs ?? 200)),
      ]);
      return this.token!;
    }
    const next = this.opts.rotateTo?.shift();
    if (!next) throw new AppError(Code.TOKEN_REJECTED, 'Your sign-in was rejected. Run `npx appwrite-mcp login` to sign in again.');
    return (this.token = next);
  }

  async onInsufficientScope(rejected: string | undefined, challenge: BearerChallenge): Promise<string> {
    this.insufficientScope.push({ rejected, challenge });
    if (!this.opts.stepUpTo) throw new AppError(Code.STEP_UP_FAILED, 'More permissions are needed.');
    return (this.token = this.opts.stepUpTo);
  }

  whenReady(signal?: AbortSignal): Promise<void> {
    if (this.token) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.readyWaiters.push(resolve);
      signal?.addEventListener('abort', () => reject(signal.reason));
    });
  }

  /** The test's stand-in for a finished browser sign-in. */
  signIn(token: string): void {
    this.token = token;
    for (const resolve of this.readyWaiters.splice(0)) resolve();
  }
}

export interface ProxyHarness {
  stdin: PassThrough;
  /** Every stdout line, parsed. */
  messages: Array<Record<string, any>>;
  /** stdout lines that were not a JSON-RPC 2.0 object: must stay empty. */
  invalidLines: string[];
  logs: string[];
  /** Resolves when runProxy returns. */
  done: Promise<void>;
  write(message: object | string): void;
  /** The first message (already received or still to come) matching `match`. */
  waitFor(match: (m: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>;
  onMessage(listener: (m: Record<string, any>) => void): void;
  connectClient(client: Client): Promise<void>;
  stop(): void;
}

export function startProxy(opts: { url: string; authorizer: Authorizer; limits?: Partial<ProxyLimits>; headers?: Record<string, string>; eraCache?: EraCache; tools?: ToolFilterOptions }): ProxyHarness {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const controller = new AbortController();
  const messages: Array<Record<string, any>> = [];
  const invalidLines: string[] = [];
  const logs: string[] = [];
  const listeners: Array<(m: Record<string, any>) => void> = [];
  let buffered = '';
  stdout.setEncoding('utf8');
  stdout.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let parsed: any;
      try {
        parsed = JSON.parse(line);
      } catch {
        invalidLines.push(line);
        continue;
      }
      if (parsed?.jsonrpc !== '2.0') invalidLines.push(line);
      messages.push(parsed);
      for (const listener of listeners) listener(parsed);
    }
  });
  const done = runProxy({
    url: opts.url,
    headers: opts.headers,
    authorizer: opts.authorizer,
    logger: createLogger({ debug: true, write: (line) => void logs.push(line) }),
    limits: opts.limits,
    eraCache: opts.eraCache,
    tools: opts.tools,
    stdin,
    stdout,
    signal: controller.signal,
    http: new HttpClient({}),
  });
  const harness: ProxyHarness = {
    stdin,
    messages,
    invalidLines,
    logs,
    done,
    write(message) {
      stdin.write((typeof message === 'string' ? message : JSON.stringify(message)) + '\n');
    },
    waitFor(match, timeoutMs = 5_000) {
      const found = messages.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('timed out waiting for a message')), timeoutMs);
        listeners.push((m) => {
          if (match(m)) {
            clearTimeout(timer);
            resolve(m);
          }
        });
      });
    },
    onMessage(listener) {
      listeners.push(listener);
    },
    async connectClient(client) {
      await client.connect(new HarnessTransport(harness));
    },
    stop() {
      controller.abort();
    },
  };
  return harness;
}

/** A Transport for the SDK Client over the harness's streams. */
class HarnessTransport implements Transport {
  onmessage?: (message: JSONRPCMessage) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  constructor(private readonly harness: ProxyHarness) {}
  async start(): Promise<void> {
    this.harness.onMessage((m) => this.onmessage?.(m as JSONRPCMessage));
  }
  async send(message: JSONRPCMessage): Promise<void> {
    this.harness.write(message);
  }
  async close(): Promise<void> {
    this.harness.stdin.end();
    this.onclose?.();
  }
}

export function newClient(capabilities: Record<string, unknown> = {}): Client {
  return new Client({ name: 'test-client', version: '1.0.0' }, { capabilities });
}

export function textOf(result: unknown): string {
  return ((result as { content?: Array<{ text?: string }> }).content ?? []).map((c) => c.text ?? '').join('');
}

export const INIT_PARAMS = { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } };
