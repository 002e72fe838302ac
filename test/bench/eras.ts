// `npm run bench:eras`: what bridging the protocol eras costs, next to mcp-remote 0.15.1, against the
// local cloud's three kinds of server (2025-only, the root layout like mcp.appwrite.io; 2026-07-28
// only; dual-era), each with a real stored sign-in (`appwrite-mcp login`, headless Chromium).
//
//  A. 2025 client, cold start: spawn → the `initialize` response (the proxy's era detection included:
//     nothing for a 2025 or dual server; for a 2026-07-28-only one the refused initialize and
//     `server/discover` the first time ("cold": no eras.json), `server/discover` alone once cached).
//  B. 2026-07-28 client (SDK v2 over stdio, versionNegotiation auto), cold start: construct → connect
//     (the SDK spawns a throw-away copy for `server/discover`, then the real one) → the first
//     `tools/list` answered. "cold" and "cached" as above.
//  C. Steady state through the translated pairings: p50 / p90 of sequential `tools/call echo`, the
//     subjects taking turns, and the peak RSS of each spawned process.
// mcp-remote runs with `--header Authorization:Bearer …` (its static-header mode), in its default
// `--protocol legacy` and with `--protocol auto` (its era bridge). Markdown on stdout, JSON in
// .test-artifacts/bench-eras.json, progress on stderr.
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { StdioClientTransport as StdioV2 } from '@modelcontextprotocol/client/stdio';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as StdioV1 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { BIN, ROOT, baseEnv } from '../helpers/cli.js';
import { startCloudProcess } from './cloud.js';
import { coldStart, peakRss, type PeakRss } from './measure.js';
import { signInOnce, type StoredSignIn } from './sign-in.js';
import { median, msSince, summarize, type Summary } from './stats.js';
import type { StdioCommand } from './subjects.js';

const { values } = parseArgs({ options: { cold: { type: 'string' }, calls: { type: 'string' }, json: { type: 'string' } } });
const COLD = Number(values.cold ?? process.env.BENCH_COLD ?? 5);
const CALLS = Number(values.calls ?? process.env.BENCH_CALLS ?? 300);
const JSON_OUT = values.json ?? '.test-artifacts/bench-eras.json';
const BLOCK = 50;

type Kind = '2025' | 'modern' | 'dual';
const KINDS: Kind[] = ['2025', 'modern', 'dual'];
const log = (line: string) => process.stderr.write(`[bench:eras] ${line}\n`);

const remoteBin = join(ROOT, 'node_modules/mcp-remote', (JSON.parse(readFileSync(join(ROOT, 'node_modules/mcp-remote/package.json'), 'utf8')) as { bin: Record<string, string> }).bin['mcp-remote']!);
const remoteVersion = (JSON.parse(readFileSync(join(ROOT, 'node_modules/mcp-remote/package.json'), 'utf8')) as { version: string }).version;

function childEnv(extra: Record<string, string>): Record<string, string> {
  const env = baseEnv();
  delete env.NODE_OPTIONS;
  return { ...(env as Record<string, string>), ...extra };
}

interface Subject {
  name: string;
  cmd: StdioCommand;
  /** Run before each cold start (the proxy without a cache forgets what it learned). */
  reset?: () => void;
}

function subjects(kind: Kind, url: string, signIn: StoredSignIn, remoteDir: string): Subject[] {
  const proxyEnv = childEnv({ APPWRITE_MCP_CONFIG_DIR: signIn.configDir });
  const proxy = { command: process.execPath, args: [BIN, '--url', url], env: proxyEnv };
  const remote = (extra: string[]) => ({ command: process.execPath, args: [remoteBin, url, '--header', `Authorization:Bearer ${signIn.accessToken}`, ...extra], env: childEnv({ MCP_REMOTE_CONFIG_DIR: remoteDir }) });
  const forget = () => rmSync(join(signIn.configDir, 'eras.json'), { force: true });
  const out: Subject[] = [{ name: 'appwrite-mcp, cold', cmd: proxy, reset: forget }];
  if (kind === 'modern') out.push({ name: 'appwrite-mcp, cached', cmd: proxy });
  out.push({ name: `mcp-remote ${remoteVersion}`, cmd: remote([]) }, { name: `mcp-remote ${remoteVersion} --protocol auto`, cmd: remote(['--protocol', 'auto']) });
  return out;
}

interface ColdResult { medianMs?: number; minMs?: number; maxMs?: number; runs: number[]; error?: string }

async function coldRuns(list: Subject[], run: (s: Subject) => Promise<number>): Promise<Record<string, ColdResult>> {
  const out: Record<string, ColdResult> = Object.fromEntries(list.map((s) => [s.name, { runs: [] }]));
  for (const s of list) {
    // One untimed start each (page cache, and the cached subject's cache).
    s.reset?.();
    await run(s).catch((err: Error) => (out[s.name]!.error = err.message.split('\n')[0]));
  }
  for (let i = 0; i < COLD; i++) {
    for (const s of [...list.slice(i % list.length), ...list.slice(0, i % list.length)]) {
      if (out[s.name]!.error) continue;
      s.reset?.();
      try {
        out[s.name]!.runs.push(await run(s));
      } catch (err) {
        out[s.name]!.error = (err as Error).message.split('\n')[0];
      }
    }
  }
  for (const r of Object.values(out)) {
    if (r.runs.length) Object.assign(r, { medianMs: median(r.runs), minMs: Math.min(...r.runs), maxMs: Math.max(...r.runs) });
  }
  return out;
}

/** B: an SDK v2 client over stdio, versionNegotiation auto: construct → first tools/list answered. */
async function modernFirstAnswer(cmd: StdioCommand): Promise<number> {
  const t0 = process.hrtime.bigint();
  const client = new ClientV2({ name: 'bench-v2', version: '2.4.0' }, { versionNegotiation: { mode: 'auto' } });
  const transport = new StdioV2({ ...cmd, stderr: 'ignore' });
  try {
    await client.connect(transport, { timeout: 60_000 } as never);
    await client.listTools();
    return msSince(t0);
  } finally {
    await client.close().catch(() => {});
  }
}

interface Steady { name: string; small: Summary; peakRss?: PeakRss; error?: string }

/** C: `CALLS` sequential echo calls per subject, taking turns every BLOCK calls. */
async function steady(list: Array<{ name: string; connect: () => Promise<{ echo(): Promise<void>; pid?: number; close(): Promise<void> }> }>): Promise<Steady[]> {
  const connected: Array<{ name: string; c?: Awaited<ReturnType<(typeof list)[number]['connect']>>; samples: number[]; error?: string }> = [];
  for (const s of list) {
    try {
      const c = await s.connect();
      for (let i = 0; i < 30; i++) await c.echo(); // warm-up
      connected.push({ name: s.name, c, samples: [] });
    } catch (err) {
      connected.push({ name: s.name, samples: [], error: (err as Error).message.split('\n')[0] });
    }
  }
  for (let done = 0, b = 0; done < CALLS; done += BLOCK, b++) {
    const live = connected.filter((x) => x.c);
    for (const x of [...live.slice(b % live.length), ...live.slice(0, b % live.length)]) {
      for (let i = 0; i < Math.min(BLOCK, CALLS - done); i++) {
        const t0 = process.hrtime.bigint();
        await x.c!.echo();
        x.samples.push(msSince(t0));
      }
    }
  }
  const out: Steady[] = [];
  for (const x of connected) {
    out.push({ name: x.name, small: summarize(x.samples), peakRss: x.c?.pid ? peakRss(x.c.pid) : undefined, error: x.error });
    await x.c?.close().catch(() => {});
  }
  return out;
}

function checkEcho(result: { content?: Array<{ text?: string }> }): void {
  if (result.content?.[0]?.text !== 'hello, bench') throw new Error(`echo came back wrong: ${JSON.stringify(result).slice(0, 200)}`);
}

async function stdioV1(cmd: StdioCommand) {
  const transport = new StdioV1({ ...cmd, stderr: 'ignore' });
  const client = new ClientV1({ name: 'bench-v1', version: '1.32.0' });
  await client.connect(transport, { timeout: 60_000 });
  return {
    echo: async () => checkEcho(await client.request({ method: 'tools/call', params: { name: 'echo', arguments: { text: 'hello, bench' } } }, CallToolResultSchema) as never),
    pid: transport.pid ?? undefined,
    close: () => client.close(),
  };
}

async function stdioV2(cmd: StdioCommand) {
  const transport = new StdioV2({ ...cmd, stderr: 'ignore' });
  const client = new ClientV2({ name: 'bench-v2', version: '2.4.0' }, { versionNegotiation: { mode: 'auto' } });
  await client.connect(transport, { timeout: 60_000 } as never);
  return {
    echo: async () => checkEcho(await client.callTool({ name: 'echo', arguments: { text: 'hello, bench' } }) as never),
    pid: transport.pid ?? undefined,
    close: () => client.close(),
  };
}

async function httpV2(url: string, token: string) {
  const client = new ClientV2({ name: 'bench-v2', version: '2.4.0' }, { versionNegotiation: { mode: 'auto' } });
  await client.connect(new HttpV2(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
  return { echo: async () => checkEcho(await client.callTool({ name: 'echo', arguments: { text: 'hello, bench' } }) as never), close: () => client.close() };
}

// ── run ──────────────────────────────────────────────────────────────────────────────────

const started = Date.now();
const load = loadavg();
const cloud = await startCloudProcess();
const signIns = {} as Record<Kind, StoredSignIn>;
const remoteDir = mkdtempSync(join(tmpdir(), 'appwrite-mcp-bench-eras-remote-'));
try {
  const urls: Record<Kind, string> = { '2025': cloud.mcpUrl, modern: cloud.modernMcpUrl, dual: cloud.dualMcpUrl };
  for (const kind of KINDS) {
    log(`signing in to the ${kind} server…`);
    signIns[kind] = await signInOnce(cloud, urls[kind]);
  }
  const a: Record<string, Record<string, ColdResult>> = {};
  const b: Record<string, Record<string, ColdResult>> = {};
  for (const kind of KINDS) {
    log(`A: 2025 client cold start, ${kind} server (×${COLD})…`);
    const list = subjects(kind, urls[kind], signIns[kind], remoteDir);
    a[kind] = await coldRuns(list, async (s) => (await coldStart(s.cmd, 60_000)).ms);
    log(`B: 2026-07-28 client cold start to the first answer, ${kind} server (×${COLD})…`);
    b[kind] = await coldRuns(list, (s) => modernFirstAnswer(s.cmd));
  }
  log(`C: steady state through the translated pairings (${CALLS} calls each)…`);
  const proxyCmd = (kind: Kind) => ({ command: process.execPath, args: [BIN, '--url', urls[kind]], env: childEnv({ APPWRITE_MCP_CONFIG_DIR: signIns[kind].configDir }) });
  const remoteCmd = (kind: Kind) => ({ command: process.execPath, args: [remoteBin, urls[kind], '--header', `Authorization:Bearer ${signIns[kind].accessToken}`, '--protocol', 'auto'], env: childEnv({ MCP_REMOTE_CONFIG_DIR: remoteDir }) });
  const c = {
    '2025 client → 2026-07-28 server': await steady([
      { name: 'SDK v2 client over HTTP, direct (2026-07-28)', connect: () => httpV2(urls.modern, signIns.modern.accessToken) },
      { name: 'appwrite-mcp', connect: () => stdioV1(proxyCmd('modern')) },
      { name: `mcp-remote ${remoteVersion} --protocol auto`, connect: () => stdioV1(remoteCmd('modern')) },
    ]),
    '2026-07-28 client → 2025 server': await steady([
      { name: 'SDK v2 client over HTTP, direct (falls back to 2025)', connect: () => httpV2(urls['2025'], signIns['2025'].accessToken) },
      { name: 'appwrite-mcp (the client speaks 2026-07-28)', connect: () => stdioV2(proxyCmd('2025')) },
      { name: `mcp-remote ${remoteVersion} --protocol auto (the client falls back to 2025)`, connect: () => stdioV2(remoteCmd('2025')) },
    ]),
    '2026-07-28 client → 2026-07-28 server': await steady([
      { name: 'SDK v2 client over HTTP, direct', connect: () => httpV2(urls.modern, signIns.modern.accessToken) },
      { name: 'appwrite-mcp', connect: () => stdioV2(proxyCmd('modern')) },
      { name: `mcp-remote ${remoteVersion} --protocol auto`, connect: () => stdioV2(remoteCmd('modern')) },
    ]),
  };
  const results = { startedAt: new Date(started).toISOString(), durationMs: Date.now() - started, loadavgBefore: load, loadavgAfter: loadavg(), cold: COLD, calls: CALLS, a, b, c };
  mkdirSync(dirname(join(ROOT, JSON_OUT)), { recursive: true });
  writeFileSync(join(ROOT, JSON_OUT), JSON.stringify(results, null, 2));
  process.stdout.write(report(results));
  log(`results written to ${JSON_OUT}`);
} finally {
  for (const s of Object.values(signIns)) s.cleanup();
  rmSync(remoteDir, { recursive: true, force: true });
  await cloud.stop();
}

interface Results {
  a: Record<string, Record<string, ColdResult>>;
  b: Record<string, Record<string, ColdResult>>;
  c: Record<string, Steady[]>;
  cold: number;
  calls: number;
  loadavgBefore: number[];
  loadavgAfter: number[];
  durationMs: number;
}

function report(r: Results): string {
  const ms = (n?: number) => (n === undefined ? '–' : n.toFixed(0));
  const cell = (x: ColdResult | undefined) => (!x ? '' : x.error ? `fails: ${x.error.slice(0, 80)}` : `${ms(x.medianMs)} (${ms(x.minMs)}–${ms(x.maxMs)})`);
  const names = Object.keys(r.a.modern ?? {}); // the modern column has every subject, in order
  const lines: string[] = [];
  const cold = (title: string, data: Record<string, Record<string, ColdResult>>) => {
    lines.push(`### ${title}`, '', `median (min–max) ms, n=${r.cold}`, '', `| subject | ${KINDS.map((k) => `${k} server`).join(' | ')} |`, `| --- |${KINDS.map(() => ' --- |').join('')}`);
    for (const name of names) lines.push(`| ${name} | ${KINDS.map((k) => cell(data[k]![name])).join(' | ')} |`);
    lines.push('');
  };
  cold('A. 2025 client: spawn → initialize answered', r.a);
  cold('B. 2026-07-28 client (SDK v2, auto): construct → connect (probe copy + real copy) → first tools/list answered', r.b);
  lines.push(`### C. Steady state, sequential echo, ${r.calls} calls each`, '', '| pairing | subject | p50 ms | p90 ms | peak RSS |', '| --- | --- | --- | --- | --- |');
  for (const [pairing, list] of Object.entries(r.c)) {
    for (const s of list) lines.push(`| ${pairing} | ${s.name} | ${s.error ? `fails: ${s.error.slice(0, 60)}` : s.small.p50.toFixed(2)} | ${s.error ? '' : s.small.p90.toFixed(2)} | ${s.peakRss ? `${(s.peakRss.treeBytes / 1048576).toFixed(1)} MB` : '–'} |`);
  }
  lines.push('', `Load average ${r.loadavgBefore.map((n) => n.toFixed(2)).join(' ')} → ${r.loadavgAfter.map((n) => n.toFixed(2)).join(' ')}; whole run ${(r.durationMs / 1000).toFixed(0)} s.`, '');
  return lines.join('\n');
}
