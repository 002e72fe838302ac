// `npm run bench:memory`: the proxy's memory on the message path, on each supported Node line (the
// pinned binaries of test/node-lines). Prints figures, asserts nothing. Against the local cloud (own
// process) with one stored sign-in; each workload in a fresh proxy process (the built CLI), peak RSS =
// VmHWM of that process:
//   A. idle: after initialize + tools/list
//   B. 2,000 sequential 100 KB tools/call echo calls, then 2,000 more with 32 in flight
//   C. one large echo (5 MB of text by default; --large-mb) after initialize: peak vs idle
// The targets (issue "Proxy foundation"): A ≤ 50 MB; B ≤ A + 20 MB; C ≤ idle + 3 × the message.
// Medians of --runs runs per line. Markdown on stdout (with the machine, the Node versions and the
// load), progress on stderr. Each line runs in its own child (`--line-child`) started with that
// line's node, so that the proxies it spawns run on it too.
import { spawn } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { handshake, memoryOf, spawnRawProxy, type RawProxy } from '../helpers/raw-stdio.js';
import { LINES, nodeBinary } from '../node-lines/index.mjs';
import { startCloudProcess } from './cloud.js';
import { signInOnce } from './sign-in.js';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    sequential: { type: 'string' }, inflight: { type: 'string' }, 'large-mb': { type: 'string' }, runs: { type: 'string' },
    node: { type: 'string' }, 'line-child': { type: 'boolean' }, url: { type: 'string' }, 'config-dir': { type: 'string' },
  },
});
const SEQUENTIAL = Number(values.sequential ?? 2000);
const IN_FLIGHT_CALLS = Number(values.inflight ?? 2000);
const LARGE_MB = Number(values['large-mb'] ?? 5);
const RUNS = Number(values.runs ?? 3);
const MB = 1024 * 1024;
const log = (line: string) => process.stderr.write(`[memory] ${line}\n`);
const mb = (bytes: number) => (bytes / MB).toFixed(1);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface LineResult {
  node: string;
  idle: number[];
  workload: Array<{ idle: number; peak: number }>;
  large: Array<{ idle: number; peak: number }>;
  loadavg: number[];
}

if (values['line-child']) {
  process.stdout.write(`${JSON.stringify(await measureLine(values.url!, values['config-dir']!))}\n`);
} else {
  await main();
}

/** The three workloads, RUNS times each, with this process's node running the proxies. */
async function measureLine(url: string, configDir: string): Promise<LineResult> {
  const env = { APPWRITE_MCP_CONFIG_DIR: configDir };
  const echo = (p: RawProxy, text: string) => p.request('tools/call', { name: 'echo', arguments: { text } }, { timeoutMs: 60_000 }).then((m) => {
    if (m.error || m.result?.content?.[0]?.text?.length !== text.length) throw new Error(`bad echo answer: ${JSON.stringify(m).slice(0, 300)}`);
  });
  // The proxy is idle once tools/list is answered; a short pause lets its start-up garbage go.
  const settle = () => new Promise((resolve) => setTimeout(resolve, 300));
  const withProxy = async <T>(work: (p: RawProxy) => Promise<T>): Promise<T> => {
    const p = spawnRawProxy(['--url', url], env);
    try {
      await handshake(p);
      await p.request('tools/list');
      return await work(p);
    } finally {
      await p.close();
    }
  };
  const out: LineResult = { node: process.version, idle: [], workload: [], large: [], loadavg: loadavg() };
  for (let run = 1; run <= RUNS; run++) {
    log(`${process.version} run ${run}/${RUNS}: idle`);
    out.idle.push(await withProxy(async (p) => { await settle(); return memoryOf(p.pid)!.peak; }));
    log(`${process.version} run ${run}/${RUNS}: ${SEQUENTIAL} sequential + ${IN_FLIGHT_CALLS} in flight (32) × 100 KB`);
    out.workload.push(await withProxy(async (p) => {
      await settle();
      const before = memoryOf(p.pid)!.peak;
      const text = 'x'.repeat(100 * 1024);
      for (let i = 0; i < SEQUENTIAL; i++) await echo(p, text);
      let started = 0;
      await Promise.all(Array.from({ length: 32 }, async () => {
        while (started < IN_FLIGHT_CALLS) {
          started++;
          await echo(p, text);
        }
      }));
      return { idle: before, peak: memoryOf(p.pid)!.peak };
    }));
    log(`${process.version} run ${run}/${RUNS}: one ${LARGE_MB} MB message`);
    out.large.push(await withProxy(async (p) => {
      await settle();
      const before = memoryOf(p.pid)!.peak;
      await echo(p, 'é'.repeat(Math.round(LARGE_MB * MB / 2))); // 2 bytes each in UTF-8
      return { idle: before, peak: memoryOf(p.pid)!.peak };
    }));
  }
  out.loadavg = [...out.loadavg, ...loadavg()];
  return out;
}

async function main(): Promise<void> {
  const lines = (values.node ?? LINES.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  const loadBefore = loadavg();
  const cloud = await startCloudProcess();
  const signIn = await signInOnce(cloud, cloud.mcpUrl);
  const results: LineResult[] = [];
  try {
    for (const line of lines) {
      log(`Node ${line}…`);
      results.push(await runLine(nodeBinary(line), cloud.mcpUrl, signIn.configDir));
    }
  } finally {
    signIn.cleanup();
    await cloud.stop();
  }
  const range = (xs: number[]) => `${mb(Math.min(...xs))}–${mb(Math.max(...xs))}`;
  const rows = [
    `machine: ${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}, ${(totalmem() / 1024 ** 3).toFixed(1)} GB; load average before ${loadBefore.map((n) => n.toFixed(1)).join(' ')}, after ${loadavg().map((n) => n.toFixed(1)).join(' ')}`,
    `workloads: A idle after initialize + tools/list; B ${SEQUENTIAL} sequential 100 KB echo calls then ${IN_FLIGHT_CALLS} with 32 in flight; C one ${LARGE_MB} MB echo (request and response each ${LARGE_MB} MB). Peak RSS (VmHWM), median of ${RUNS} fresh processes (range).`,
    '',
    '| Node | A. idle (≤ 50 MB) | B. 100 KB workload (≤ idle + 20 MB) | C. one 5 MB message (≤ idle + 3 ×) | verdict |',
    '|---|---|---|---|---|',
  ];
  for (const r of results) {
    const idle = median(r.idle);
    const b = median(r.workload.map((w) => w.peak));
    const bGrowth = median(r.workload.map((w) => w.peak - w.idle));
    const cGrowth = median(r.large.map((l) => l.peak - l.idle));
    const pass = [idle <= 50 * MB, b <= idle + 20 * MB, cGrowth <= 3 * LARGE_MB * MB];
    rows.push(`| ${r.node} | ${mb(idle)} MB (${range(r.idle)}) | ${mb(b)} MB (${range(r.workload.map((w) => w.peak))}); +${mb(bGrowth)} MB over its own idle | +${mb(cGrowth)} MB = ${(cGrowth / (LARGE_MB * MB)).toFixed(1)} × (peak ${mb(median(r.large.map((l) => l.peak)))} MB) | A ${pass[0] ? 'PASS' : 'FAIL'}, B ${pass[1] ? 'PASS' : 'FAIL'}, C ${pass[2] ? 'PASS' : 'FAIL'} |`);
  }
  process.stdout.write(`${rows.join('\n')}\n`);
}

function runLine(node: string, url: string, configDir: string): Promise<LineResult> {
  const self = fileURLToPath(import.meta.url);
  const args = ['--import', 'tsx', self, '--line-child', '--url', url, '--config-dir', configDir, '--runs', String(RUNS), '--sequential', String(SEQUENTIAL), '--inflight', String(IN_FLIGHT_CALLS), '--large-mb', String(LARGE_MB)];
  return new Promise((resolve, reject) => {
    const child = spawn(node, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      const last = out.trim().split('\n').at(-1);
      if (code !== 0 || !last) return reject(new Error(`the Node ${node} run failed (exit ${code})`));
      resolve(JSON.parse(last) as LineResult);
    });
  });
}
