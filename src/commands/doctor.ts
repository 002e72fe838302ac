// `appwrite-mcp doctor`: checks, in order, everything a proxy run depends on, one line each, with the
// fix for every failure: the road to the server (proxy settings, DNS, TCP, TLS and its CA), the clock
// against the server's, the discovery chain, the keychain, this server's stored sign-in, and the
// client configs that start appwrite-mcp. Every check is bounded in time. Human text goes to stdout
// as it comes (like `status`); `--json` prints the results as one JSON array instead.
import { createAuth } from '../auth/index.js';
import { loadDefaults } from '../config.js';
import { checkClients } from '../doctor/clients.js';
import { checkKeychain } from '../doctor/keychain.js';
import { checkNetwork } from '../doctor/network.js';
import { fail, skip, type CheckResult } from '../doctor/report.js';
import { checkServer, recordingContext, type ServerFacts } from '../doctor/server.js';
import { checkSignIn } from '../doctor/sign-in.js';
import { AppError, ExitCode, errorMessage } from '../errors.js';
import type { HttpClient } from '../http/client.js';
import { redact, type Logger } from '../log.js';
import { configDir } from '../paths.js';
import { systemEnvironment } from '../setup/clients.js';
import { keychainTimeoutMs } from '../store/keychain.js';
import { signInKey, type SignIns } from '../store/sign-ins.js';
import type { SignInRecord, Target } from '../store/types.js';
import { loginCommand, resolveTarget } from '../target.js';
import { commandLogger, line, storePreference, type CommonOptions, type Factory } from './factory.js';

export interface DoctorOptions extends CommonOptions {
  url?: string;
  header?: string[];
  headerFile?: string;
  profile?: string;
  json?: boolean;
}

/** Bound on each network step (DNS, connect, TLS) and on each HTTP request. */
const STEP_TIMEOUT_MS = 5_000;
/** Bound on a discovery step that may try several URLs. */
const DISCOVERY_STEP_TIMEOUT_MS = 8_000;

const MARK: Record<CheckResult['status'], string> = { ok: '✓', warn: '!', fail: '✗', skip: '·' };
const LABEL_WIDTH = 22;

interface Run {
  f: Factory;
  target: Target;
  logger: Logger;
  signIns: SignIns;
  http: HttpClient;
  login: string;
  report(r: CheckResult): void;
}

export async function run(opts: DoctorOptions, f: Factory): Promise<number> {
  const target = resolveTarget(opts, f.env);
  const logger = commandLogger(opts, f);
  const out = (text: string) => line(f.io.stdout, redact(text));
  const results: CheckResult[] = [];
  const report = (r: CheckResult) => {
    results.push(r);
    if (!opts.json) out(render(r));
  };
  if (!opts.json) {
    const headers = Object.keys(target.headers ?? {});
    const about = [headers.length ? `headers ${headers.join(', ')}` : '', target.profile ? `profile ${target.profile}` : ''].filter(Boolean).join(', ');
    out(`appwrite-mcp doctor: ${target.url}${about ? ` (${about})` : ''}\n`);
  }
  const http = f.http();
  try {
    const r: Run = { f, target, logger, signIns: f.signIns(logger, opts.store), http, login: loginCommand(target), report };
    const facts = await serverChecks(r);
    await storeChecks(r, facts);
    report(await clientChecks(f, target));
  } finally {
    http.close();
  }
  const failed = results.filter((r) => r.status === 'fail').length;
  const warned = results.filter((r) => r.status === 'warn').length;
  if (opts.json) {
    out(JSON.stringify(results, null, 2));
  } else {
    const warnings = warned ? ` (${warned} warning${warned === 1 ? '' : 's'})` : '';
    out(failed
      ? `\n✗ ${failed} problem${failed === 1 ? '' : 's'}${warnings}: the proxy will not work until ${failed === 1 ? 'it is' : 'they are'} fixed (see "fix:" above).`
      : `\n✓ Everything a proxy run needs is in place${warnings}.`);
  }
  return failed ? ExitCode.failure : ExitCode.ok;
}

/** 1–3: the road to the server, the clock, the challenge and the discovery chain. */
async function serverChecks(r: Run): Promise<{ facts: ServerFacts; recording: ReturnType<typeof recordingContext> }> {
  const network = await checkNetwork({ url: new URL(r.target.url), env: r.f.env, timeoutMs: STEP_TIMEOUT_MS });
  network.results.forEach(r.report);
  const recording = recordingContext(r.http.fetch, r.logger, STEP_TIMEOUT_MS, () => r.f.clock.now());
  if (!network.reachable) {
    for (const id of ['clock', 'challenge', 'resource-metadata', 'authorization-server', 'pkce']) r.report(skip(id, 'the server could not be reached'));
    return { facts: { answered: false }, recording };
  }
  const facts = await checkServer({
    target: r.target, ctx: recording.ctx, bounded: (ms) => recording.within(AbortSignal.timeout(ms)), exchanges: recording.exchanges,
    stepTimeoutMs: DISCOVERY_STEP_TIMEOUT_MS, platform: r.f.platform, now: () => r.f.clock.now(),
  }, r.report);
  return { facts, recording };
}

/** 4–5: the keychain, and this server's stored sign-in. */
async function storeChecks(r: Run, { facts, recording }: Awaited<ReturnType<typeof serverChecks>>): Promise<void> {
  const { f, signIns, login } = r;
  let record: SignInRecord | undefined;
  let stateError: unknown;
  try {
    record = await signIns.records.record(signInKey(r.target));
  } catch (err) {
    stateError = err;
  }
  const keychain = await checkKeychain({
    signIns, keychain: { timeoutMs: keychainTimeoutMs(f.env) }, record, storePreference: storePreference(undefined, f.env),
    envToken: Boolean(f.env.APPWRITE_MCP_TOKEN), login, env: f.env, platform: f.platform,
  });
  r.report(keychain.result);
  if (stateError) {
    r.report(fail('sign-in', `cannot read the sign-ins in ${signIns.dir}: ${errorMessage(stateError)}`, { fix: stateError instanceof AppError && stateError.hint ? stateError.hint : `Check ${signIns.dir}/state.json, or move it away and run: ${login}` }));
    r.report(skip('token', 'no sign-in'));
    r.report(skip('refresh', 'no sign-in'));
    return;
  }
  // A refresh made here is the proxy's own; what it would log goes to --debug only, not into the report.
  const quiet: Logger = { debugEnabled: r.logger.debugEnabled, debug: r.logger.debug, info: r.logger.debug, warn: r.logger.debug, error: r.logger.debug };
  const auth = createAuth({ fetch: recording.ctx.fetch, signIns, logger: quiet, clock: f.clock, openBrowser: async () => false, requestTimeoutMs: STEP_TIMEOUT_MS });
  await checkSignIn({
    target: r.target, signIns, auth, server: facts, keychainWorks: keychain.works, envToken: f.env.APPWRITE_MCP_TOKEN || undefined, login,
    timeoutMs: Math.max(keychainTimeoutMs(f.env) * 2, STEP_TIMEOUT_MS), now: () => f.clock.now(),
  }, record, r.report);
}

/** 6: the client configs that start appwrite-mcp. */
async function clientChecks(f: Factory, target: Target): Promise<CheckResult> {
  try {
    return await checkClients(target, systemEnvironment(f.env, f.platform), (profile, entryEnv) => {
      // The entry's own run reads config.json from its config dir (its env may name another one).
      const dir = typeof entryEnv?.APPWRITE_MCP_CONFIG_DIR === 'string' && entryEnv.APPWRITE_MCP_CONFIG_DIR ? entryEnv.APPWRITE_MCP_CONFIG_DIR : configDir(f.env, f.platform);
      try {
        return loadDefaults(dir, profile, () => {}).url;
      } catch {
        return undefined;
      }
    });
  } catch (err) {
    return skip('clients', `could not look for client configs: ${errorMessage(err)}`);
  }
}

function render(r: CheckResult): string {
  const lines = [`${MARK[r.status]} ${r.id.padEnd(LABEL_WIDTH)}${r.summary}`];
  for (const d of r.detail ?? []) lines.push(`  ${' '.repeat(LABEL_WIDTH)}${d}`);
  if (r.fix) lines.push(`  ${' '.repeat(LABEL_WIDTH)}fix: ${r.fix}`);
  return lines.join('\n');
}
