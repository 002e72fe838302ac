import type { Authorizer } from '../authorization.js';
import { EnvTokenAuthorizer } from '../auth/env-authorizer.js';
import { workloadAuthorizer } from '../auth/index.js';
import { AppError, Code } from '../errors.js';
import { FileEraCache } from '../proxy/eras/cache.js';
import type { ProxyLimits } from '../proxy/limits.js';
import { runProxy, type ProtocolChoice, type TransportChoice } from '../proxy/run.js';
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
    : plan.workload
      ? await workloadAuthorizer(authOf(f, { logger, signIns, http }), { target, plan: { ...plan, workload: plan.workload }, env: f.env })
      : await authOf(f, { logger, signIns, http }).authorizer({ target, plan, allowBrowser: opts.browser, holdMs: authTimeoutMs });
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
    stdin: f.io.stdin, stdout: f.io.stdout,
    tools: { ignore: opts.ignoreTool, allow: opts.allowTool, readOnly: opts.readOnly },
    transport: opts.transport ?? 'auto',
    pingIntervalMs: opts.pingInterval === undefined ? undefined : opts.pingInterval * 1000,
  });
  // The client is gone. Refreshed tokens that could not be saved yet get a last try, bounded (a save
  // that waits on a lock or a keychain must not hold the exit); then the CLI exits once stdout has
  // drained, whatever still waits (a sign-in's browser, lock heartbeats, keep-alive sockets).
  const grace = new AbortController();
  await Promise.race([authorizer.close?.(), f.clock.sleep(EXIT_GRACE_MS, grace.signal).catch(() => {})]);
  grace.abort();
}

/** The most the proxy lingers after its client left (the SDK's stdio client sends SIGTERM after 2 s). */
const EXIT_GRACE_MS = 1_500;
