// Bench options from flags (`npm run bench -- --quick --check`) and environment (BENCH_*).
import { parseArgs } from 'node:util';

export const SUBJECTS = ['raw', 'direct', 'proxy', 'mcp-remote'] as const;
export type SubjectName = (typeof SUBJECTS)[number];

export interface BenchOptions {
  quick: boolean;
  /** Exit non-zero on a large regression (see targets.ts). */
  check: boolean;
  /** Sequential echo calls with a small payload, per subject. */
  small: number;
  /** Sequential echo calls with a 100 KB payload, per subject. */
  large: number;
  largeBytes: number;
  /** Latency calls run in blocks of this many calls (large: a quarter of it); subjects take turns block by block. */
  block: number;
  /** Calls per throughput round, per subject. */
  throughputCalls: number;
  throughputRounds: number;
  concurrency: number;
  /** Cold starts per stdio subject (median reported). */
  coldStarts: number;
  subjects: SubjectName[];
  /** `root`: the stateless SSE layout at `/` (like mcp.appwrite.io); `project`: the stateful `/<id>/mcp`. */
  layout: 'root' | 'project';
  json: string;
  /** Let the check fail on the absolute targets too (not only on large regressions). */
  strictTargets: boolean;
  /** Sequential small echo calls through each era pairing (0: not measured). */
  pairings: number;
  /** The Node lines to run on, each in its own run (run.ts); undefined: this process's Node. */
  nodeLines?: string[];
}

const HELP = `npm run bench -- [flags]     (also as environment variables BENCH_<FLAG>, e.g. BENCH_SMALL=5000)
  --quick               short run for CI: 300 small + 100 large calls, 6 × 200 throughput calls, 7 cold starts
  --check               exit 1 on a large regression (ratios measured in this run; see test/bench/targets.ts)
  --strict-targets      with --check: also fail when an absolute target is missed
  --small <n>           sequential small echo calls per subject (default 3000)
  --large <n>           sequential 100 KB echo calls per subject (default 1000)
  --large-bytes <n>     payload size of the large echo (default 102400)
  --block <n>           subjects take turns every <n> small (<n>/4 large) calls (default 100; quick 50)
  --throughput <n>      calls per throughput round per subject (default 400; quick 200)
  --rounds <n>          throughput rounds, subjects back to back in each (default 12; quick 6)
  --concurrency <n>     calls in flight for throughput (default 32)
  --cold <n>            cold starts per stdio subject (default 11; quick 7; at least 7)
  --subjects <list>     comma-separated subset of ${SUBJECTS.join(',')} (default all; quick: no raw; direct is always included)
  --layout root|project the cloud's stateless SSE root layout (default) or the stateful per-project one
  --json <path>         where to write the results (default .test-artifacts/bench.json)
  --pairings <n>        small echo calls through each of the four era pairings (default 600; quick 0: skipped)
  --node <lines>        run everything on these pinned Node lines, one run each (default for full runs 22,24,26;
                        quick runs: the Node running the bench; "current" forces that)`;

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      quick: { type: 'boolean' },
      check: { type: 'boolean' },
      'strict-targets': { type: 'boolean' },
      small: { type: 'string' },
      large: { type: 'string' },
      'large-bytes': { type: 'string' },
      block: { type: 'string' },
      throughput: { type: 'string' },
      rounds: { type: 'string' },
      concurrency: { type: 'string' },
      cold: { type: 'string' },
      subjects: { type: 'string' },
      layout: { type: 'string' },
      json: { type: 'string' },
      pairings: { type: 'string' },
      node: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    process.exit(0);
  }
  const flag = (name: string): string | undefined => (values as Record<string, string | boolean | undefined>)[name] as string | undefined
    ?? env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
  const bool = (name: string) => Boolean((values as Record<string, unknown>)[name]) || /^(1|true|yes)$/i.test(env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`] ?? '');
  const quick = bool('quick');
  const int = (name: string, full: number, short: number, min = 1) => {
    const raw = flag(name);
    const n = raw === undefined ? (quick ? short : full) : Number(raw);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min} (got ${raw})`);
    return n;
  };
  const subjects = (flag('subjects') ?? SUBJECTS.filter((s) => !quick || s !== 'raw').join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of subjects) {
    if (!(SUBJECTS as readonly string[]).includes(s)) throw new Error(`unknown subject "${s}" (known: ${SUBJECTS.join(', ')})`);
  }
  const layout = flag('layout') ?? 'root';
  if (layout !== 'root' && layout !== 'project') throw new Error(`--layout must be root or project (got ${layout})`);
  return {
    quick,
    check: bool('check'),
    strictTargets: bool('strict-targets'),
    small: int('small', 3000, 300),
    large: int('large', 1000, 100),
    largeBytes: int('large-bytes', 100 * 1024, 100 * 1024),
    block: int('block', 100, 50, 4),
    throughputCalls: int('throughput', 400, 200),
    throughputRounds: int('rounds', 12, 6),
    concurrency: int('concurrency', 32, 32),
    coldStarts: int('cold', 11, 7, 7),
    subjects: SUBJECTS.filter((s) => s === 'direct' || subjects.includes(s)),
    layout,
    json: flag('json') ?? '.test-artifacts/bench.json',
    pairings: int('pairings', 600, 0, 0),
    nodeLines: nodeLines(flag('node'), quick),
  };
}

function nodeLines(raw: string | undefined, quick: boolean): string[] | undefined {
  if (raw === 'current' || (raw === undefined && quick)) return undefined;
  const lines = (raw ?? '22,24,26').split(',').map((s) => s.trim()).filter(Boolean);
  for (const l of lines) if (!['22', '24', '26'].includes(l)) throw new Error(`--node takes 22, 24, 26 or current (got ${l})`);
  return lines;
}
