// The measurements: sequential round trips, calls in flight, cold start, peak RSS, modules loaded.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { msSince } from './stats.js';
import type { StdioCommand } from './subjects.js';

/** One round trip (Connected.echo). */
export type Echo = (text: string) => Promise<void>;

/** `count` sequential round trips; each sample is one call's wall time in ms (hrtime). */
export async function sequential(echo: Echo, text: string, count: number, into: number[] = []): Promise<number[]> {
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    await echo(text);
    into.push(msSince(t0));
  }
  return into;
}

/** `calls` echo calls with `concurrency` in flight at all times; returns { calls, ms }. */
export async function inFlight(echo: Echo, text: string, calls: number, concurrency: number): Promise<{ calls: number; ms: number }> {
  let started = 0;
  const t0 = process.hrtime.bigint();
  const worker = async () => {
    while (started < calls) {
      started++;
      await echo(text);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, calls) }, worker));
  return { calls, ms: msSince(t0) };
}

export interface ColdStart {
  /** spawn() → the initialize response's last byte on stdout. */
  ms: number;
  /** stdin closed → process exited (null: still running after the grace period, then killed). */
  exitAfterEofMs: number | null;
}

const EOF_GRACE_MS = 1500;

/**
 * Spawns the command, writes `initialize` at once (as MCP clients do) and times until its response
 * arrives on stdout. Then closes stdin and waits for the process to exit (killed after a grace period),
 * so no two cold starts ever overlap.
 */
export async function coldStart(cmd: StdioCommand, timeoutMs = 30_000): Promise<ColdStart> {
  const init = {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'appwrite-mcp-bench', version: '1.0.0' } },
  };
  const t0 = process.hrtime.bigint();
  const child = spawn(cmd.command, cmd.args, { env: cmd.env, stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4096); });
  child.stdin.on('error', () => {});
  child.stdin.write(`${JSON.stringify(init)}\n`);
  try {
    const ms = await new Promise<number>((resolve, reject) => {
      let buffer = '';
      const timer = setTimeout(() => reject(new Error(`no initialize response within ${timeoutMs} ms`)), timeoutMs);
      child.stdout.on('data', (d: Buffer) => {
        buffer += d.toString();
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          let message: { id?: unknown; result?: unknown; error?: unknown };
          try {
            message = JSON.parse(line);
          } catch {
            continue;
          }
          if (message.id === 1) {
            clearTimeout(timer);
            if (message.error) reject(new Error(`initialize failed: ${JSON.stringify(message.error)}`));
            else resolve(msSince(t0));
            return;
          }
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`exited (${code}) before answering initialize`));
      });
    });
    const t1 = process.hrtime.bigint();
    child.stdin.end();
    const graceful = await Promise.race([exited.then(() => true), sleep(EOF_GRACE_MS).then(() => false)]);
    return { ms, exitAfterEofMs: graceful ? msSince(t1) : null };
  } catch (error) {
    throw new Error(`${(error as Error).message}\n--- stderr ---\n${stderr}`);
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------- memory ----------

function statusField(pid: number, field: string): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The pid and every descendant of it, from /proc/<pid>/stat parent links. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    out.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return out;
}

export interface PeakRss {
  /** VmHWM (peak resident set) of the spawned process itself, bytes. */
  mainBytes: number;
  /** Sum of VmHWM over the spawned process and its descendants, bytes. */
  treeBytes: number;
  processes: number;
  /** VmRSS now (at the end of the runs), bytes. */
  currentBytes: number;
}

export function peakRss(pid: number): PeakRss | undefined {
  if (!existsSync(`/proc/${pid}/status`)) return undefined;
  const tree = processTree(pid);
  const main = statusField(pid, 'VmHWM');
  if (main === undefined) return undefined;
  return {
    mainBytes: main,
    treeBytes: tree.reduce((sum, p) => sum + (statusField(p, 'VmHWM') ?? 0), 0),
    processes: tree.length,
    currentBytes: statusField(pid, 'VmRSS') ?? 0,
  };
}
