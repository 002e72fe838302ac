// `appwrite-mcp doctor`: checks, in order, everything a proxy run depends on, one line each, with the
// fix for every failure: the road to the server (proxy settings, DNS, TCP, TLS and its CA), the
// clock against the server's, the discovery chain, the keychain, this server's stored sign-in, and
// the client configs that start appwrite-mcp. Every check is bounded in time. Human text goes to
// stdout as it comes (like `status`); `--json` prints the results as one JSON array instead.
import { AppError, ExitCode, errorMessage } from '../errors.js';
import { checkClients } from '../doctor/clients.js';
import { checkKeychain } from '../doctor/keychain.js';
import { checkNetwork } from '../doctor/network.js';
import { fail, skip, type CheckResult } from '../doctor/report.js';
import { checkServer, recordingContext, type ServerFacts } from '../doctor/server.js';
import { checkSignIn } from '../doctor/sign-in.js';
import { loadDefaults } from '../config.js';
import { redact } from '../log.js';
import { configDir } from '../paths.js';
import { systemEnvironment } from '../setup/clients.js';
import { signInKey } from '../store/sign-ins.js';
import type { SignInRecord } from '../store/types.js';
import { loginCommand, resolveTarget } from '../target.js';
import { createCommandContext, keychainTimeoutMs, type CommonOptions } from './context.js';

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

export async function runDoctor(opts: DoctorOptions, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): Promise<number> {
  const target = resolveTarget(opts, env);
  const { logger, http, signIns } = createCommandContext(opts, env);
  const out = (text: string) => void process.stdout.write(`${redact(text)}\n`);
  const results: CheckResult[] = [];
  const report = (r: CheckResult) => {
    results.push(r);
    if (!opts.json) out(render(r));
  };
  const login = loginCommand(target);
  const storePreference = env.APPWRITE_MCP_STORE === 'file' || env.APPWRITE_MCP_STORE === 'keychain' ? env.APPWRITE_MCP_STORE : 'auto';

  if (!opts.json) {
    const headers = Object.keys(target.headers ?? {});
    const about = [headers.length ? `headers ${headers.join(', ')}` : '', target.profile ? `profile ${target.profile}` : ''].filter(Boolean).join(', ');
    out(`appwrite-mcp doctor: ${target.url}${about ? ` (${about})` : ''}\n`);
  }
  try {
    // 1. The road to the server.
    const network = await checkNetwork({ url: new URL(target.url), env, timeoutMs: STEP_TIMEOUT_MS });
    network.results.forEach(report);

    // 2. and 3. The clock, the challenge and the discovery chain.
    const recording = recordingContext(http.fetch, logger, STEP_TIMEOUT_MS);
    let facts: ServerFacts = { answered: false };
    if (network.reachable) {
      facts = await checkServer({
        target,
        ctx: recording.ctx,
        bounded: (ms) => recording.within(AbortSignal.timeout(ms)),
        exchanges: recording.exchanges,
        stepTimeoutMs: DISCOVERY_STEP_TIMEOUT_MS,
        platform,
      }, report);
    } else {
      for (const id of ['clock', 'challenge', 'resource-metadata', 'authorization-server', 'pkce']) report(skip(id, 'the server could not be reached'));
    }

    // 4. The keychain.
    let record: SignInRecord | undefined;
    let stateError: unknown;
    try {
      record = await signIns.record(signInKey(target));
    } catch (err) {
      stateError = err;
    }
    const keychain = await checkKeychain({
      signIns,
      keychain: { timeoutMs: keychainTimeoutMs(env) },
      record,
      storePreference,
      envToken: Boolean(env.APPWRITE_MCP_TOKEN),
      login,
      env,
      platform,
    });
    report(keychain.result);

    // 5. The stored sign-in.
    if (stateError) {
      report(fail('sign-in', `cannot read the sign-ins in ${signIns.dir}: ${errorMessage(stateError)}`, { fix: stateError instanceof AppError && stateError.hint ? stateError.hint : `Check ${signIns.dir}/state.json, or move it away and run: ${login}` }));
      report(skip('token', 'no sign-in'));
      report(skip('refresh', 'no sign-in'));
    } else {
      await checkSignIn({
        target,
        signIns,
        ctx: recording.ctx,
        logger,
        server: facts,
        keychainWorks: keychain.works,
        envToken: env.APPWRITE_MCP_TOKEN || undefined,
        login,
        timeoutMs: Math.max(keychainTimeoutMs(env) * 2, STEP_TIMEOUT_MS),
      }, record, report);
    }

    // 6. The client configs that start appwrite-mcp.
    try {
      report(await checkClients(target, systemEnvironment(env, platform), (profile, entryEnv) => {
        // The entry's own run reads config.json from its config dir (its env may name another one).
        const dir = typeof entryEnv?.APPWRITE_MCP_CONFIG_DIR === 'string' && entryEnv.APPWRITE_MCP_CONFIG_DIR ? entryEnv.APPWRITE_MCP_CONFIG_DIR : configDir(env, platform);
        try {
          return loadDefaults(dir, profile, () => {}).url;
        } catch {
          return undefined;
        }
      }));
    } catch (err) {
      report(skip('clients', `could not look for client configs: ${errorMessage(err)}`));
    }
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

function render(r: CheckResult): string {
  const lines = [`${MARK[r.status]} ${r.id.padEnd(LABEL_WIDTH)}${r.summary}`];
  for (const d of r.detail ?? []) lines.push(`  ${' '.repeat(LABEL_WIDTH)}${d}`);
  if (r.fix) lines.push(`  ${' '.repeat(LABEL_WIDTH)}fix: ${r.fix}`);
  return lines.join('\n');
}

