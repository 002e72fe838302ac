// `npm run bench:soak [-- --requests N --inflight N --restarts N]`: one proxy (the built CLI) under a
// long run against the local cloud's MCP server (own process, stateless SSE root layout, one stored
// sign-in): N requests (default 50,000), 64 in flight, a few % cancelled at random with
// notifications/cancelled, the MCP server restarted twice along the way. Prints figures; exits 1
// when the answering rule is broken:
//   - every request not cancelled is answered exactly once (a result, or a JSON-RPC error — e.g.
//     for those in flight when the server went down);
//   - a cancelled request is answered at most once (MCP: the receiver SHOULD NOT answer after a
//     cancellation; the proxy stops waiting, so it usually does not, but a race may let one through);
//   - no answer for an id never sent, nothing on stdout that is not JSON-RPC.
// RSS (VmRSS of the proxy) is sampled every second: first, last, max.
import { parseArgs } from 'node:util';
import { handshake, memoryOf, spawnRawProxy } from '../helpers/raw-stdio.js';
import { startCloudProcess } from './cloud.js';
import { signInOnce } from './sign-in.js';

const { values } = parseArgs({ args: process.argv.slice(2), options: { requests: { type: 'string' }, inflight: { type: 'string' }, restarts: { type: 'string' }, cancel: { type: 'string' } } });
const TOTAL = Number(values.requests ?? 50_000);
const IN_FLIGHT = Number(values.inflight ?? 64);
const RESTARTS = Number(values.restarts ?? 2);
const CANCEL_SHARE = Number(values.cancel ?? 0.03);
const log = (line: string) => process.stderr.write(`[soak] ${line}\n`);
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

const cloud = await startCloudProcess();
const signIn = await signInOnce(cloud, cloud.mcpUrl);
const p = spawnRawProxy(['--url', cloud.mcpUrl], { APPWRITE_MCP_CONFIG_DIR: signIn.configDir });
let failed = false;
try {
  await handshake(p);
  const answers = new Map<string, number>();
  const errors = new Map<string, number>();
  const cancelled = new Set<string>();
  const sent = new Set<string>();
  const waiting = new Map<string, () => void>();
  let strays = 0;
  p.child.stdout.on('data', () => {}); // lines are parsed by the helper; answers picked up below
  const seen = p.lines;
  let scanned = 0;
  const scan = () => {
    for (; scanned < seen.length; scanned++) {
      const m = seen[scanned] as any;
      if (!m || m.method !== undefined || m.id === undefined) continue;
      const id = String(m.id);
      if (!id.startsWith('soak-')) continue; // the handshake's initialize
      if (!sent.has(id)) { strays++; continue; }
      answers.set(id, (answers.get(id) ?? 0) + 1);
      if (m.error) errors.set(m.error.data?.reason ?? String(m.error.code), (errors.get(m.error.data?.reason ?? String(m.error.code)) ?? 0) + 1);
      waiting.get(id)?.();
      waiting.delete(id);
    }
  };
  p.child.stdout.on('data', () => setImmediate(scan));

  const rss: number[] = [];
  const sampler = setInterval(() => { const m = memoryOf(p.pid); if (m) rss.push(m.current); }, 1000);
  const restartAt = Array.from({ length: RESTARTS }, (_, i) => Math.floor((TOTAL * (i + 1)) / (RESTARTS + 1)));
  let next = 0;
  const started = Date.now();
  const one = async (n: number) => {
    const id = `soak-${n}`;
    sent.add(id);
    const slow = n % 10 === 0;
    const done = new Promise<void>((resolve) => waiting.set(id, resolve));
    p.write({ jsonrpc: '2.0', id, method: 'tools/call', params: slow ? { name: 'slow', arguments: { steps: 2, delayMs: 5 } } : { name: 'echo', arguments: { text: `hello ${n}` } } });
    if (Math.random() < CANCEL_SHARE) {
      setTimeout(() => {
        if (!answers.has(id)) {
          cancelled.add(id);
          p.write({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'soak' } });
          waiting.get(id)?.(); // not waited for
        }
      }, Math.random() * 8);
    }
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, 60_000).unref());
    await Promise.race([done, timeout]);
  };
  const worker = async () => {
    while (next < TOTAL) {
      const n = next++;
      if (restartAt.includes(n)) {
        log(`request ${n}: restarting the MCP server`);
        void cloud.restartMcp().then(() => log('MCP server back'));
      }
      if (n % 5000 === 0) log(`${n} sent, ${((Date.now() - started) / 1000).toFixed(0)} s`);
      await one(n);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  await new Promise((resolve) => setTimeout(resolve, 1500)); // late answers to cancelled requests
  scan();
  clearInterval(sampler);
  const seconds = (Date.now() - started) / 1000;

  let unanswered = 0;
  let duplicates = 0;
  let cancelledAnswered = 0;
  for (const id of sent) {
    const count = answers.get(id) ?? 0;
    if (cancelled.has(id)) {
      if (count > 1) duplicates++;
      if (count === 1) cancelledAnswered++;
    } else if (count === 0) unanswered++;
    else if (count > 1) duplicates++;
  }
  const invalid = seen.filter((m: any) => m?.invalid !== undefined).length;
  failed = unanswered > 0 || duplicates > 0 || strays > 0 || invalid > 0;
  const errorList = [...errors].map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  process.stdout.write([
    `| soak: ${TOTAL} requests, ${IN_FLIGHT} in flight, MCP server restarted ${RESTARTS}× | |`,
    '|---|---|',
    `| duration | ${seconds.toFixed(1)} s (${Math.round(TOTAL / seconds)} requests/s) |`,
    `| answered (not cancelled) | ${sent.size - cancelled.size - unanswered} of ${sent.size - cancelled.size}; unanswered ${unanswered}; answered twice ${duplicates} |`,
    `| cancelled | ${cancelled.size}; of these answered anyway (a race the spec allows) ${cancelledAnswered} |`,
    `| JSON-RPC errors, by reason | ${errorList} |`,
    `| stray answers / non-JSON-RPC lines | ${strays} / ${invalid} |`,
    `| proxy RSS (sampled each second) | first ${mb(rss[0] ?? 0)}, last ${mb(rss.at(-1) ?? 0)}, max ${mb(Math.max(...rss))}; peak (VmHWM) ${mb(memoryOf(p.pid)?.peak ?? 0)} |`,
    `| verdict | ${failed ? '**FAILED**' : 'passed'} |`,
    '',
  ].join('\n'));
} finally {
  await p.close();
  signIn.cleanup();
  await cloud.stop();
}
process.exitCode = failed ? 1 : 0;
