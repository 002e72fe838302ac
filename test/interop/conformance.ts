// Runs the official MCP conformance suite's client scenarios against a stdio proxy (our CLI, or
// mcp-remote for comparison) driven by a desktop client (client.ts: SDK 1.32 as the 2025 client,
// SDK v2 2.4 as the 2026 client, each doing what plans.ts says for the scenario), and prints one
// row per scenario with a column per proxy × client.
//
//   npm run conformance                                   # appwrite-mcp, both clients, every client scenario
//   npm run conformance -- --target all                   # and mcp-remote beside it
//   npm run conformance -- --scenario auth/scope-step-up --client 2026
//   npm run conformance -- --all-wires                    # also each required scenario at its revision's wire (what npm test runs)
//   npm run conformance -- --wire 2026-07-28              # every scenario at the 2026-07-28 wire
//   npm run conformance -- --cli /path/to/other/bin/appwrite-mcp.js   # another build of the CLI
//   npm run conformance -- --scenario request-metadata --wire-log   # every HTTP exchange in stderr.txt (not for auth/*)
//
// Each run is one suite invocation in single-scenario mode (suite.ts), whose exit code is the
// suite's own verdict: 0 only when no check failed or warned, the client exited 0 (or the scenario
// allows a client error) and did not time out. On top of it a run passes only if every check its
// plan requires (plans.ts `require`) succeeded, so a path the client never took cannot pass.
// Results (checks.json, the client's stdout and stderr) stay in
// .test-artifacts/conformance/<target>/<client>/<scenario>/.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { planFor } from './plans.js';
import { formatTable } from './report.js';
import {
  ARTIFACTS, NODE22, REVISIONS, SUITE, defaultWires, ensureBuilt, ensureSuiteInstalled, findFile, here, listClientScenarios,
  pinnedSuiteVersion, requiredClientScenarios, root, runSuite, type Check, type Revision,
} from './suite.js';

import { CLIENT_KINDS, TARGETS, columnName, runLabel, type ClientKind, type Column, type ScenarioResult, type ScenarioRun, type Target } from './runs.js';

export { ensureBuilt, ensureSuiteInstalled, formatTable, listClientScenarios, requiredClientScenarios, REVISIONS };
export { TARGETS, columnName, runLabel, type Column, type ScenarioResult, type ScenarioRun, type Target } from './runs.js';

/**
 * Every scenario at its default wire, plus, for each requirement set, a run at that revision's
 * wire of each scenario it requires whose default wire differs ("Scenarios run at THIS revision's
 * wire version […] a scenario that applies to both must be run once under each and one run does
 * not cover the other", requirements/2026-07-28.yaml in the suite). With `only`, every scenario
 * at that one wire.
 */
export function scenarioRuns(scenarios: string[], opts: { allWires?: boolean; only?: Revision } = {}): ScenarioRun[] {
  if (opts.only) return scenarios.map((scenario) => ({ scenario, wire: opts.only, at: opts.only! }));
  const wires = defaultWires();
  const runs: ScenarioRun[] = scenarios.map((scenario) => ({ scenario, at: wires.get(scenario) ?? '2025-11-25' }));
  if (!opts.allWires) return runs;
  for (const revision of REVISIONS) {
    const required = requiredClientScenarios(revision);
    for (const scenario of scenarios) if (required.includes(scenario) && wires.get(scenario) !== revision) runs.push({ scenario, wire: revision, at: revision });
  }
  return runs;
}

/** The suite kills a client still running after this long; the client gives up a little earlier by itself. */
export const SCENARIO_TIMEOUT_MS = 45_000;
const CLIENT_DEADLINE_MS = 40_000;
const SUITE_GRACE_MS = 15_000;


/**
 * The client script as one plain ES module (esbuild, which tsx ships with): ~1 s of CPU saved
 * per run against `--import tsx`, on a machine with 2 cores and 96 runs. Falls back to tsx.
 */
export async function clientCommand(): Promise<string[]> {
  const source = join(here, 'client.ts');
  try {
    const { build } = await import('esbuild');
    const outfile = join(root, '.test-artifacts', 'conformance-client.mjs');
    mkdirSync(dirname(outfile), { recursive: true });
    await build({ entryPoints: [source], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'error' });
    return [process.execPath, outfile];
  } catch (err) {
    process.stderr.write(`conformance: esbuild unavailable (${(err as Error).message}); running the client through tsx\n`);
    return [process.execPath, '--import', 'tsx', source];
  }
}

const slug = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_');

function checkLine(c: Check): string {
  return `${c.status === 'WARNING' ? 'WARNING ' : ''}${c.id}${c.name && c.name !== c.id ? ` [${c.name}]` : ''}: ${c.description}${c.errorMessage && c.errorMessage !== c.description ? ` (${c.errorMessage})` : ''}`;
}

/** A required id (or name) is met when some check with it succeeded and none with it failed. */
function unmet(checks: Check[], required: string[]): string[] {
  return required.flatMap((key) => {
    const mine = checks.filter((c) => c.id === key || c.name === key);
    if (mine.some((c) => c.status === 'SUCCESS') && !mine.some((c) => c.status === 'FAILURE' || c.status === 'WARNING')) return [];
    const worst = mine.find((c) => c.status !== 'SUCCESS');
    return [`${key}: ${worst ? `${worst.status}${worst.errorMessage ? ` (${worst.errorMessage})` : ''}` : 'never emitted'}`];
  });
}

function clientLog(resultDir: string | undefined): string {
  const file = resultDir && findFile(resultDir, 'stderr.txt');
  return file ? readFileSync(file, 'utf8') : '';
}

export interface RunOptions {
  command: string[];
  outDir?: string;
  cli?: string;
  /** Log every HTTP exchange between proxy and server into the client's stderr (wire-log.ts; not for auth scenarios). */
  wireLog?: boolean;
  signal?: AbortSignal;
}

/** Runs one scenario through the suite for one proxy and client; never throws for a failing scenario. */
export async function runScenario(column: Column, { scenario, wire, at }: ScenarioRun, o: RunOptions): Promise<ScenarioResult> {
  const outDir = join(o.outDir ?? ARTIFACTS, column.target, column.client, slug(runLabel({ scenario, wire, at })));
  const started = Date.now();
  const run = await runSuite({
    scenario, outDir, timeoutMs: SCENARIO_TIMEOUT_MS, graceMs: SUITE_GRACE_MS, wire, signal: o.signal,
    command: [...o.command, '--target', column.target, '--client', column.client],
    env: {
      CONFORMANCE_CLIENT_DEADLINE_MS: String(CLIENT_DEADLINE_MS),
      CONFORMANCE_INTEROP_DIR: here,
      ...(o.cli ? { CONFORMANCE_APPWRITE_MCP_BIN: o.cli } : {}),
      ...(o.wireLog ? { CONFORMANCE_WIRE_LOG: '1' } : {}),
    },
  });
  const durationMs = Date.now() - started;
  const bad = run.checks.filter((c) => c.status === 'FAILURE' || c.status === 'WARNING');
  const problems = bad.map(checkLine);
  const missing = run.checks.length ? unmet(run.checks, planFor(scenario).require ?? []) : [];
  const exited = /Client exited with code (\d+)/.exec(run.output);
  const clientExitCode = exited ? Number(exited[1]) : 0;
  const clientTimedOut = /Client timed out after/.test(run.output);
  const log = clientLog(run.resultDir);
  const notes = [...new Set(log.split('\n').filter((l) => (l.includes('did not exit on stdin EOF') || l.includes('still running 5 s after'))).map((l) => l.replace(/^\[client\] /, '')))];
  const pass = run.code === 0 && missing.length === 0;
  let reason = '';
  if (!pass) {
    const failed = log.split('\n').find((l) => l.startsWith('[client] failed: ') || l.startsWith('[client] gave up'))?.replace(/^\[client\] (failed: )?/, '');
    if (run.aborted) reason = 'stopped: the time budget for the whole run ran out';
    else if (!run.checks.length) reason = `suite error (exit ${run.code}): ${run.output.trim().split('\n').slice(-3).join(' / ')}`;
    else if (problems.length) reason = problems[0]!;
    else if (missing.length) reason = `required check not met: ${missing[0]}`;
    else if (clientTimedOut) reason = `client timed out after ${SCENARIO_TIMEOUT_MS} ms`;
    else if (clientExitCode) reason = `client exited with ${clientExitCode}: ${failed ?? 'see stderr.txt'}`;
    else reason = `suite exited with ${run.code}`;
  }
  return {
    ...column, scenario, wire, at, pass, suiteExitCode: run.code, clientExitCode, clientTimedOut, problems, missing,
    succeeded: run.checks.filter((c) => c.status === 'SUCCESS').map((c) => c.id),
    skipped: run.checks.filter((c) => c.status === 'SKIPPED').map((c) => c.id),
    notes, reason, durationMs, resultDir: run.resultDir, pgid: run.pgid,
  };
}

/**
 * Runs every (column, scenario) pair, `concurrency` at a time (each run has its own servers on
 * ephemeral ports, its own config dir and its own process group, so runs do not meet). With
 * `budgetMs`, runs still going when it runs out are stopped, and those not started fail as "not run".
 */
export async function runAll(
  columns: Column[],
  runs: ScenarioRun[],
  opts: Omit<RunOptions, 'signal' | 'command'> & { concurrency?: number; budgetMs?: number; onResult?: (r: ScenarioResult) => void } = {},
): Promise<ScenarioResult[]> {
  const command = await clientCommand();
  // Slowest first (auth scenarios run a browser sign-in), so the tail of the run stays short.
  const jobs = runs.flatMap((run) => columns.map((column) => ({ column, run })))
    .sort((a, b) => Number(b.run.scenario.startsWith('auth/')) - Number(a.run.scenario.startsWith('auth/')));
  const results: ScenarioResult[] = [];
  const budget = opts.budgetMs ? AbortSignal.timeout(opts.budgetMs) : undefined;
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const { column, run } = jobs[next++]!;
      const r: ScenarioResult = budget?.aborted
        ? { ...column, ...run, pass: false, suiteExitCode: null, clientTimedOut: false, problems: [], missing: [], succeeded: [], skipped: [], notes: [], reason: 'not run: the time budget for the whole run ran out', durationMs: 0 }
        : await runScenario(column, run, { ...opts, command, signal: budget });
      results.push(r);
      opts.onResult?.(r);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, worker));
  const order = new Map(runs.map((r, i) => [runLabel(r), i]));
  const col = (r: Column) => columns.findIndex((c) => c.target === r.target && c.client === r.client);
  return results.sort((a, b) => order.get(runLabel(a))! - order.get(runLabel(b))! || col(a) - col(b));
}

interface Args { targets: Target[]; clients: ClientKind[]; scenarios: string[]; concurrency: number; json?: string; cli?: string; outDir?: string; wire?: Revision; allWires?: boolean; wireLog?: boolean }

function parseArgs(argv: string[]): Args {
  const a: Args = { targets: ['appwrite-mcp'], clients: [...CLIENT_KINDS], scenarios: [], concurrency: 4 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => argv[++i] ?? '';
    if (arg === '--target') {
      const v = value();
      if (v === 'all') a.targets = [...TARGETS];
      else if ((TARGETS as string[]).includes(v)) a.targets = [v as Target];
      else throw new Error(`--target must be appwrite-mcp, mcp-remote or all, not ${v}`);
    } else if (arg === '--client') {
      const v = value();
      if (v === 'both') a.clients = [...CLIENT_KINDS];
      else if ((CLIENT_KINDS as string[]).includes(v)) a.clients = [v as ClientKind];
      else throw new Error(`--client must be 2025, 2026 or both, not ${v}`);
    } else if (arg === '--scenario') a.scenarios.push(value());
    else if (arg === '--concurrency') a.concurrency = Number(value());
    else if (arg === '--json') a.json = resolvePath(value());
    else if (arg === '--cli') a.cli = resolvePath(value());
    else if (arg === '--out') a.outDir = resolvePath(value());
    else if (arg === '--wire') {
      const v = value();
      if (!(REVISIONS as readonly string[]).includes(v)) throw new Error(`--wire must be one of ${REVISIONS.join(', ')}, not ${v}`);
      a.wire = v as Revision;
    } else if (arg === '--all-wires') a.allWires = true;
    else if (arg === '--wire-log') a.wireLog = true;
    else throw new Error(`unknown argument ${arg}`);
  }
  return a;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  ensureBuilt();
  ensureSuiteInstalled();
  const all = listClientScenarios();
  const required = Object.fromEntries(REVISIONS.map((r) => [r, requiredClientScenarios(r)])) as Record<Revision, string[]>;
  for (const s of args.scenarios) if (!all.includes(s)) throw new Error(`unknown scenario ${s}; the suite has: ${all.join(', ')}`);
  const scenarios = args.scenarios.length ? args.scenarios : all;
  const columns = args.targets.flatMap((target) => args.clients.map((client) => ({ target, client })));
  const runs = scenarioRuns(scenarios, { allWires: args.allWires, only: args.wire });
  process.stderr.write(`suite ${pinnedSuiteVersion()}: ${all.length} client scenarios (${REVISIONS.map((r) => `${required[r].length} required by ${r}`).join(', ')}); running ${runs.length} × ${columns.map(columnName).join(', ')}${args.wire ? ` at the ${args.wire} wire` : ''}${args.cli ? ` (CLI ${args.cli})` : ''}, ${args.concurrency} at a time (suite on ${NODE22.replace(`${root}/`, '')} ${SUITE.replace(`${root}/`, '')}, clients and proxies on ${process.version})\n`);
  const started = Date.now();
  const results = await runAll(columns, runs, {
    concurrency: args.concurrency, cli: args.cli, outDir: args.outDir, wireLog: args.wireLog,
    onResult: (r) => process.stderr.write(`  ${r.pass ? 'pass' : 'FAIL'}  ${columnName(r).padEnd(18)} ${runLabel(r)}  (${(r.durationMs / 1000).toFixed(1)} s)\n`),
  });
  const wall = ((Date.now() - started) / 1000).toFixed(0);
  const json = args.json ?? join(args.outDir ?? ARTIFACTS, 'results.json');
  mkdirSync(dirname(json), { recursive: true });
  writeFileSync(json, JSON.stringify(results, null, 2));
  process.stdout.write(`\n${formatTable(results, columns, required)}\n\n${results.length} runs in ${wall} s. Details: ${json} and ${args.outDir ?? ARTIFACTS}/<target>/<client>/<scenario>/\n`);
}

if (process.argv[1] && existsSync(process.argv[1]) && fileURLToPath(import.meta.url) === resolvePath(process.argv[1])) {
  main().catch((err) => {
    process.stderr.write(`conformance: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
