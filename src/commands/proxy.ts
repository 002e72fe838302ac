import type { Authorizer } from '../authorization.js';
import { EnvTokenAuthorizer } from '../auth/env-authorizer.js';
import { AppError, Code } from '../errors.js';
import { runProxy } from '../proxy/bridge.js';
import { FileEraCache } from '../proxy/eras/cache.js';
import type { ProtocolChoice } from '../proxy/eras/negotiate.js';
import type { ProxyLimits } from '../proxy/limits.js';
import type { TransportChoice } from '../proxy/upstream/client.js';
import { signInKey } from '../store/sign-ins.js';
import { resolveTarget } from '../target.js';
import { signInPlan, type AuthFlags } from './auth-flags.js';
import { authOf, commandLogger, type CommonOptions, type Factory } from './factory.js';

export interface ProxyOptions extends CommonOptions, AuthFlags {
  url?: string;
  header?: string[];
  authTimeout: number;
  browser: boolean;
  protocol?: ProtocolChoice;
  maxMessageSize: number;
  connectTimeout: number;
  requestTimeout?: number;
  idleTimeout: number;
  ignoreTool?: string[];
  allowTool?: string[];
  readOnly?: boolean;
  transport?: TransportChoice;
  pingInterval?: number;
}

export async function run(opts: ProxyOptions, f: Factory): Promise<void> {
  const target = resolveTarget(opts, f.env);
  const authTimeoutMs = opts.authTimeout * 1000;
  if (authTimeoutMs >= 60_000) {
    throw new AppError(Code.USAGE, `--auth-timeout ${opts.authTimeout} is too long: MCP clients give initialize 60 s at most`);
  }
  if ((opts.transport === 'sse' || opts.transport === 'sse-first') && opts.protocol === 'modern') {
    throw new AppError(Code.USAGE, `--transport ${opts.transport} and --protocol modern do not go together: the HTTP+SSE transport (2024-11-05) predates MCP 2026-07-28`);
  }
  const plan = signInPlan(opts, f.env);
  const logger = commandLogger(opts, f);
  const http = f.http();
  const signIns = f.signIns(logger, opts.store);
  const envToken = f.env.APPWRITE_MCP_TOKEN;
  const authorizer: Authorizer & { close?(): Promise<void> } = envToken
    ? new EnvTokenAuthorizer(envToken, target.url)
    : await authOf(f, { logger, signIns, http }).authorizer({ target, plan, allowBrowser: opts.browser, holdMs: authTimeoutMs });
  setTimeout(tuneGarbageCollectorForLongRun, GC_TUNING_DELAY_MS).unref();
  // Start now: a stored sign-in is loaded (and refreshed if due) while the client is still starting
  // up. A missing one is not signed in to until the server asks (a 401).
  authorizer.getToken().catch((err) => logger.debug(`sign-in not ready yet: ${(err as Error).message}`));
  // What is learned about the server's protocol era is kept beside the sign-ins, per server and headers.
  const eraCache = new FileEraCache(signIns.dir, signInKey(target), logger);
  const limits: ProxyLimits = {
    maxMessageBytes: Math.round(opts.maxMessageSize * 1024 * 1024),
    connectTimeoutMs: opts.connectTimeout * 1000,
    requestTimeoutMs: opts.requestTimeout === undefined ? undefined : opts.requestTimeout * 1000,
    idleTimeoutMs: opts.idleTimeout * 1000,
  };
  await runProxy({ url: target.url, headers: target.headers, authorizer, logger, http, protocol: opts.protocol ?? 'auto', eraCache, limits,
    tools: { ignore: opts.ignoreTool, allow: opts.allowTool, readOnly: opts.readOnly },
    transport: opts.transport ?? 'auto',
    pingIntervalMs: opts.pingInterval === undefined ? undefined : opts.pingInterval * 1000,
  });
  // Refreshed tokens that could not be saved yet get a last try before the process goes.
  await authorizer.close?.();
  // The client is gone: a sign-in still waiting for a browser, lock heartbeats, keep-alive sockets
  // must not keep the process around. Exit once stdout has drained.
  process.stdout.write('', () => process.exit(0));
}

/**
 * A proxy lives for hours and holds little: keep V8 from growing its young generation (to 32 MB
 * under load) and filling the old one with garbage before collecting. Measured with `npm run bench`:
 * peak RSS 97 → 66 MB at no cost in latency or throughput. Set after start-up, because any V8 flag
 * set before it makes Node skip the code cache of its built-in modules (+12 ms cold start).
 *
 * And no optimizing compilers (TurboFan, Maglev): the proxy's work is done in native code (JSON,
 * Buffers, sockets, the regex engine), and the compilers' own memory costs more than they save:
 * peak RSS 66.3 → 63.6 MB in `npm run bench --quick`, 72.4 → 69 MB in the 100 KB workload of
 * `npm run bench:memory`, latency and throughput within the noise (issue "Hardening", item 12).
 */
const GC_TUNING_DELAY_MS = 250;
async function tuneGarbageCollectorForLongRun(): Promise<void> {
  const v8 = await import('node:v8');
  v8.setFlagsFromString('--optimize-for-size');
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  v8.setFlagsFromString('--no-turbofan');
  v8.setFlagsFromString('--no-maglev');
}
