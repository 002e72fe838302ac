// One bench run: a local cloud, one stored sign-in, then every measurement for every subject, with
// the subjects taking turns (block by block, round by round, start by start) so that none of them
// gets a warmer or quieter machine than the others.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CloudStats } from '../cloud/index.js';
import { startCloudProcess, type BenchCloud } from './cloud.js';
import { ROOT } from '../helpers/cli.js';
import { cpuSnapshot, othersLoad } from './cpu.js';
import { coldStart, inFlight, peakRss, sequential, type ColdStart, type PeakRss } from './measure.js';
import type { BenchOptions, SubjectName } from './options.js';
import type { StoredSignIn } from './sign-in.js';
import { median, summarize, type Summary } from './stats.js';
import { connect, createSubjects, mcpRemoteVersion, type Connected, type StdioCommand } from './subjects.js';
import { measurePairings, type PairingResult } from './pairings.js';

export type SignInFn = (cloud: BenchCloud, url: string) => Promise<StoredSignIn>;

export interface Added { p50: number; p90: number; p99: number }

export interface SubjectResult {
  name: SubjectName;
  describe: string;
  small: Summary;
  large: Summary;
  /** Percentile of this subject minus the same percentile of `direct` (ms). */
  addedSmall?: Added;
  addedLarge?: Added;
  /**
   * callsPerSecond: the median over rounds. percentOfDirect: the median over rounds of this subject's
   * rate divided by direct's rate in the same round (the subjects run back to back in each round, so a
   * burst of outside load hits a pair, not one side).
   */
  throughput: { callsPerSecond: number; rounds: number[]; percentOfDirect?: number; roundRatios?: number[] };
  coldStart?: { medianMs: number; minMs: number; maxMs: number; runs: number[]; exitAfterEofMs: Array<number | null> };
  peakRss?: PeakRss;
}

export interface ModuleTrace {
  modules: number;
  packages: string[];
  /** Modules proxy mode must never load (ink, react, the login UI). */
  forbidden: string[];
}

export interface BenchResults {
  startedAt: string;
  durationMs: number;
  options: BenchOptions;
  machine: {
    cpus: number; cpuModel: string; memoryBytes: number; loadavgBefore: number[]; loadavgAfter: number[]; node: string; platform: string;
    /** CPU used by processes other than the bench and its children during the run (noise indicator). */
    othersCpu?: { cpuSeconds: number; share: number };
  };
  versions: { sdk: string; mcpRemote: string; appwriteMcp: string };
  url: string;
  signInMs: number;
  /** Cloud counters during the measured part: must stay 0 (no one signs in, refreshes or is refused). */
  authDuringRuns: Partial<CloudStats>;
  mcpRequests: number;
  subjects: Partial<Record<SubjectName, SubjectResult>>;
  /** `node -e` answering initialize itself: the floor any Node CLI's cold start sits on. */
  nodeFloorColdStart: { medianMs: number; minMs: number; maxMs: number };
  proxyModules?: ModuleTrace;
  /** Steady state through the four era pairings (full runs). */
  pairings?: PairingResult[];
}

const SMALL_TEXT = 'hello, bench';
const FORBIDDEN_MODULES = [/\/node_modules\/ink\//, /\/node_modules\/react\//, /\/node_modules\/react-reconciler\//, /\/node_modules\/yoga-layout\//, /\/dist\/ui\//, /\/dist\/commands\/(login|status|logout)\.js$/];

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/** Subjects in a different order for each turn, so no one always goes first. */
function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

function readVersion(path: string): string {
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}

export async function runBench(opts: BenchOptions, signInFn: SignInFn): Promise<BenchResults> {
  const before = cpuSnapshot();
  const results = await measureAll(opts, signInFn);
  // After every child has exited and been reaped, so their CPU time counts as ours.
  results.machine.othersCpu = othersLoad(before, cpuSnapshot());
  return results;
}

async function measureAll(opts: BenchOptions, signInFn: SignInFn): Promise<BenchResults> {
  const started = Date.now();
  const loadavgBefore = loadavg();
  const cloud = await startCloudProcess();
  const cleanups: Array<() => unknown> = [() => cloud.stop()];
  const connected: Connected[] = [];
  try {
    const url = opts.layout === 'root' ? cloud.mcpUrl : cloud.projectMcpUrl;
    log(`cloud at ${url}; signing in once (headless Chromium)…`);
    const signIn = await signInFn(cloud, url);
    cleanups.push(() => signIn.cleanup());
    log(`signed in in ${signIn.ms} ms; config dir ${signIn.configDir}`);
    const set = createSubjects(opts.subjects, url, signIn);
    cleanups.push(() => set.cleanup());
    const { subjects } = set;
    const stdioSubjects = subjects.filter((s) => s.stdio);

    const statsBefore = await cloud.stats();

    // Warm the server's code paths with the direct client before anything is timed.
    const direct = await connect(subjects.find((s) => s.name === 'direct')!, url, signIn.accessToken);
    connected.push(direct);
    await sequential(direct.echo, SMALL_TEXT, opts.quick ? 100 : 300);

    // ---- cold start: one at a time, subjects alternating, nothing else running ----
    const floorCmd: StdioCommand = {
      command: process.execPath,
      args: ['-e', 'process.stdin.once("data",()=>{process.stdout.write(JSON.stringify({jsonrpc:"2.0",id:1,result:{}})+"\\n")});process.stdin.on("end",()=>process.exit(0))'],
      env: { PATH: process.env.PATH ?? '' },
    };
    const coldRuns = new Map<string, ColdStart[]>();
    const coldSubjects: Array<{ name: string; cmd: StdioCommand }> = [
      ...stdioSubjects.map((s) => ({ name: s.name, cmd: s.stdio! })),
      { name: 'node-floor', cmd: floorCmd },
    ];
    log(`cold start × ${opts.coldStarts} (+1 untimed each)…`);
    for (const s of coldSubjects) await coldStart(s.cmd); // first start fills the page cache
    for (let i = 0; i < opts.coldStarts; i++) {
      for (const s of rotate(coldSubjects, i)) {
        const list = coldRuns.get(s.name) ?? [];
        list.push(await coldStart(s.cmd));
        coldRuns.set(s.name, list);
      }
    }
    const proxySubject = subjects.find((s) => s.name === 'proxy');
    const proxyModules = proxySubject ? await traceModules(proxySubject.stdio!) : undefined;

    // ---- long-lived sessions ----
    log('connecting the other subjects…');
    for (const s of subjects) if (s.name !== 'direct') connected.push(await connect(s, url, signIn.accessToken));
    const order = subjects.map((s) => connected.find((c) => c.subject === s)!);

    const largeText = 'x'.repeat(opts.largeBytes);
    log('warm-up…');
    for (const c of order) {
      await sequential(c.echo, SMALL_TEXT, opts.quick ? 50 : 200);
      await sequential(c.echo, largeText, opts.quick ? 10 : 50);
      await inFlight(c.echo, SMALL_TEXT, opts.concurrency * 4, opts.concurrency);
    }

    const small = new Map<Connected, number[]>(order.map((c) => [c, []]));
    const large = new Map<Connected, number[]>(order.map((c) => [c, []]));
    const blocks = (total: number, size: number) => {
      const out: number[] = [];
      for (let left = total; left > 0; left -= size) out.push(Math.min(size, left));
      return out;
    };
    log(`latency: ${opts.small} small echo calls per subject, taking turns every ${opts.block}…`);
    for (const [b, n] of blocks(opts.small, opts.block).entries()) {
      for (const c of rotate(order, b)) await sequential(c.echo, SMALL_TEXT, n, small.get(c));
    }
    const largeBlock = Math.max(1, Math.round(opts.block / 4));
    log(`latency: ${opts.large} × ${opts.largeBytes} B echo calls per subject, taking turns every ${largeBlock}…`);
    for (const [b, n] of blocks(opts.large, largeBlock).entries()) {
      for (const c of rotate(order, b)) await sequential(c.echo, largeText, n, large.get(c));
    }
    log(`throughput: ${opts.throughputRounds} rounds × ${opts.throughputCalls} calls, ${opts.concurrency} in flight…`);
    const rounds = new Map<Connected, Array<{ calls: number; ms: number }>>(order.map((c) => [c, []]));
    for (let r = 0; r < opts.throughputRounds; r++) {
      for (const c of rotate(order, r)) rounds.get(c)!.push(await inFlight(c.echo, SMALL_TEXT, opts.throughputCalls, opts.concurrency));
    }

    const rss = new Map<Connected, PeakRss | undefined>(order.map((c) => [c, c.pid ? peakRss(c.pid) : undefined]));
    const statsAfter = await cloud.stats();
    // Closed here, not in `finally`, so the numbers above do not include shutdown.
    for (const c of connected.splice(0)) await c.close().catch(() => {});

    // ---- results ----
    const out: Partial<Record<SubjectName, SubjectResult>> = {};
    for (const c of order) {
      const rates = rounds.get(c)!.map((x) => (x.calls / x.ms) * 1000);
      const cold = coldRuns.get(c.subject.name);
      out[c.subject.name] = {
        name: c.subject.name,
        describe: c.subject.describe,
        small: summarize(small.get(c)!),
        large: summarize(large.get(c)!),
        throughput: { callsPerSecond: median(rates), rounds: rates },
        coldStart: cold && coldSummary(cold),
        peakRss: rss.get(c),
      };
    }
    const d = out.direct!;
    for (const s of Object.values(out)) {
      if (s === d) continue;
      const minus = (a: Summary, b: Summary): Added => ({ p50: a.p50 - b.p50, p90: a.p90 - b.p90, p99: a.p99 - b.p99 });
      s.addedSmall = minus(s.small, d.small);
      s.addedLarge = minus(s.large, d.large);
      s.throughput.roundRatios = s.throughput.rounds.map((rate, i) => rate / d.throughput.rounds[i]!);
      s.throughput.percentOfDirect = median(s.throughput.roundRatios) * 100;
    }
    let pairings: PairingResult[] | undefined;
    if (opts.pairings > 0) {
      log(`era pairings: ${opts.pairings} small echo calls through each…`);
      const modern = await signInFn(cloud, cloud.modernMcpUrl);
      cleanups.push(() => modern.cleanup());
      pairings = await measurePairings({ '2025': { url, configDir: signIn.configDir }, modern: { url: cloud.modernMcpUrl, configDir: modern.configDir } }, opts.pairings);
    }
    const delta = (k: keyof CloudStats) => statsAfter[k] - statsBefore[k];
    const floor = coldSummary(coldRuns.get('node-floor')!);
    return {
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      options: opts,
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        memoryBytes: totalmem(),
        loadavgBefore,
        loadavgAfter: loadavg(),
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
      },
      versions: {
        sdk: readVersion(join(ROOT, 'node_modules/@modelcontextprotocol/sdk/package.json')),
        mcpRemote: mcpRemoteVersion(),
        appwriteMcp: readVersion(join(ROOT, 'package.json')),
      },
      url,
      signInMs: signIn.ms,
      authDuringRuns: {
        registrations: delta('registrations'),
        authorizeRequests: delta('authorizeRequests'),
        authorizationCodeGrants: delta('authorizationCodeGrants'),
        refreshGrants: delta('refreshGrants'),
        mcpUnauthorized: delta('mcpUnauthorized'),
      },
      mcpRequests: delta('mcpRequests'),
      subjects: out,
      nodeFloorColdStart: { medianMs: floor.medianMs, minMs: floor.minMs, maxMs: floor.maxMs },
      proxyModules,
      pairings,
    };
  } catch (error) {
    log(`failed; the cloud's last log lines:\n${cloud.stderr().split('\n').slice(-15).join('\n')}`);
    throw error;
  } finally {
    for (const c of connected) await c.close().catch(() => {});
    for (const c of cleanups.reverse()) await c();
  }
}

function coldSummary(runs: ColdStart[]) {
  const ms = runs.map((r) => r.ms);
  return { medianMs: median(ms), minMs: Math.min(...ms), maxMs: Math.max(...ms), runs: ms, exitAfterEofMs: runs.map((r) => r.exitAfterEofMs) };
}

/** One extra, untimed proxy start with module-trace.mjs preloaded: which modules does proxy mode load? */
async function traceModules(cmd: StdioCommand): Promise<ModuleTrace> {
  const dir = mkdtempSync(join(tmpdir(), 'appwrite-mcp-bench-trace-'));
  const file = join(dir, 'modules.txt');
  try {
    const hook = fileURLToPath(new URL('./module-trace.mjs', import.meta.url));
    await coldStart({ ...cmd, args: ['--import', hook, ...cmd.args], env: { ...cmd.env, BENCH_MODULE_TRACE: file } });
    let lines: string[] = [];
    try {
      lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    } catch {
      // nothing loaded from file: URLs
    }
    const files = [...new Set(lines.map((u) => fileURLToPath(u)))].filter((f) => !f.includes('/test/bench/module-trace'));
    const packages = new Set<string>();
    for (const f of files) {
      const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f);
      if (m) packages.add(m[1]!);
    }
    return {
      modules: files.length,
      packages: [...packages].sort(),
      forbidden: files.filter((f) => FORBIDDEN_MODULES.some((re) => re.test(f))).map((f) => f.replace(ROOT, '')),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

