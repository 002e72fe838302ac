// `npm run bench:memory`: the proxy's memory on the message path (issue "Hardening", item 12).
// Prints figures, asserts nothing. Against the local cloud (own process) with one stored sign-in;
// each workload in a fresh proxy process (the built CLI), peak RSS = VmHWM of that process:
//   A. idle: after initialize + tools/list
//   B. 2,000 sequential 100 KB tools/call echo calls, then 2,000 more with 32 in flight
//   C. one large echo (5 MB of text by default; --large-mb) after initialize: peak vs idle
// Markdown on stdout, progress on stderr.
import { parseArgs } from 'node:util';
import { handshake, memoryOf, spawnRawProxy, type RawProxy } from '../helpers/raw-stdio.js';
import { startCloudProcess } from './cloud.js';
import { signInOnce } from './sign-in.js';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { sequential: { type: 'string' }, inflight: { type: 'string' }, 'large-mb': { type: 'string' }, runs: { type: 'string' } },
});
const SEQUENTIAL = Number(values.sequential ?? 2000);
const IN_FLIGHT_CALLS = Number(values.inflight ?? 2000);
const LARGE_MB = Number(values['large-mb'] ?? 5);
const RUNS = Number(values.runs ?? 3);
const MB = 1024 * 1024;
const log = (line: string) => process.stderr.write(`[memory] ${line}\n`);
const mb = (bytes: number) => (bytes / MB).toFixed(1);

const cloud = await startCloudProcess();
const signIn = await signInOnce(cloud, cloud.mcpUrl);
const env = { APPWRITE_MCP_CONFIG_DIR: signIn.configDir };
const echo = (p: RawProxy, text: string) => p.request('tools/call', { name: 'echo', arguments: { text } }, { timeoutMs: 60_000 }).then((m) => {
  if (m.error || m.result?.content?.[0]?.text?.length !== text.length) throw new Error(`bad echo answer: ${JSON.stringify(m).slice(0, 300)}`);
});
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

async function withProxy<T>(work: (p: RawProxy) => Promise<T>): Promise<T> {
  const p = spawnRawProxy(['--url', cloud.mcpUrl], env);
  try {
    await handshake(p);
    await p.request('tools/list');
    return await work(p);
  } finally {
    await p.close();
  }
}

const rows: string[] = [];
try {
  const idle: number[] = [];
  const workload: Array<{ idle: number; peak: number }> = [];
  const large: Array<{ idle: number; peak: number }> = [];
  for (let run = 1; run <= RUNS; run++) {
    log(`run ${run}/${RUNS}: idle`);
    idle.push(await withProxy(async (p) => { await settle(); return memoryOf(p.pid)!.peak; }));
    log(`run ${run}/${RUNS}: ${SEQUENTIAL} sequential + ${IN_FLIGHT_CALLS} in flight (32) × 100 KB`);
    workload.push(await withProxy(async (p) => {
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
    log(`run ${run}/${RUNS}: one ${LARGE_MB} MB message`);
    large.push(await withProxy(async (p) => {
      await settle();
      const before = memoryOf(p.pid)!.peak;
      await echo(p, 'é'.repeat(Math.round(LARGE_MB * MB / 2))); // 2 bytes each in UTF-8
      return { idle: before, peak: memoryOf(p.pid)!.peak };
    }));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const range = (xs: number[]) => `${mb(Math.min(...xs))}–${mb(Math.max(...xs))}`;
  rows.push(
    `| workload (built CLI, local cloud, ${RUNS} runs each, fresh process) | peak RSS, median (range) |`,
    '|---|---|',
    `| A. idle after initialize + tools/list | ${mb(median(idle))} MB (${range(idle)}) |`,
    `| B. ${SEQUENTIAL} sequential 100 KB echo calls, then ${IN_FLIGHT_CALLS} with 32 in flight | ${mb(median(workload.map((w) => w.peak)))} MB (${range(workload.map((w) => w.peak))}); target ≤ 70 MB |`,
    `| C. one ${LARGE_MB} MB echo (request and response each ${LARGE_MB} MB) | ${mb(median(large.map((l) => l.peak)))} MB (${range(large.map((l) => l.peak))}); idle before it ${mb(median(large.map((l) => l.idle)))} MB; growth ${mb(median(large.map((l) => l.peak - l.idle)))} MB = ${(median(large.map((l) => l.peak - l.idle)) / (LARGE_MB * MB)).toFixed(1)} × the message; target ≤ 3 × |`,
  );
  // The issue's acceptance targets, judged on the median.
  const peakB = median(workload.map((w) => w.peak));
  const growthC = median(large.map((l) => l.peak - l.idle));
  const targetA = peakB <= 70 * MB;
  const targetC = growthC <= 3 * LARGE_MB * MB;
  rows.push(
    '',
    `per run: B ${workload.map((w) => mb(w.peak)).join(' / ')} MB; C peak ${large.map((l) => `${mb(l.peak)} (+${mb(l.peak - l.idle)})`).join(' / ')} MB`,
    `target A (workload B peak ≤ 70 MB): ${targetA ? 'PASS' : 'FAIL'} (${mb(peakB)} MB)`,
    `target B (one ${LARGE_MB} MB message: peak ≤ idle + 3 × the message): ${targetC ? 'PASS' : 'FAIL'} (+${mb(growthC)} MB = ${(growthC / (LARGE_MB * MB)).toFixed(1)} ×)`,
  );
  process.stdout.write(`${rows.join('\n')}\n`);
} finally {
  signIn.cleanup();
  await cloud.stop();
}
