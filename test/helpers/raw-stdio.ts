// A raw stdio client for the built CLI: JSON-RPC lines in and out, no SDK in between, so tests and
// benchmarks can send what no SDK would (batches, oversized lines) and read every line that comes back.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { BIN, baseEnv } from './cli.js';

export interface RawProxy {
  child: ChildProcessWithoutNullStreams;
  pid: number;
  /** Every stdout line, parsed (a line that is not JSON is kept as { invalid: line }). */
  lines: unknown[];
  stderr(): string;
  /** Writes one line (an object is serialised). */
  write(message: unknown): void;
  /** Writes raw bytes (no newline added). */
  writeRaw(data: string | Buffer): Promise<void>;
  /** Sends a request and resolves with its response (rejects after `timeoutMs`). */
  request(method: string, params?: unknown, opts?: { id?: string | number; timeoutMs?: number }): Promise<Record<string, any>>;
  /** The first line (already received or still to come) matching `match`. */
  waitFor(match: (m: any) => boolean, timeoutMs?: number): Promise<any>;
  /** Closes stdin and waits for the exit (killed after `graceMs`). */
  close(graceMs?: number): Promise<number | null>;
}

let ids = 0;

export function spawnRawProxy(args: string[], env: NodeJS.ProcessEnv, opts: { nodeArgs?: string[] } = {}): RawProxy {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), BIN, ...args], { env: { ...baseEnv(), ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: unknown[] = [];
  const waiters: Array<{ match: (m: any) => boolean; resolve(m: any): void }> = [];
  const responses = new Map<string | number, (m: Record<string, any>) => void>();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-65_536); });
  child.stdin.on('error', () => {});
  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    partial += chunk;
    let nl: number;
    while ((nl = partial.indexOf('\n')) !== -1) {
      const text = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      let m: any;
      try {
        m = JSON.parse(text);
      } catch {
        m = { invalid: text };
      }
      lines.push(m);
      if (m && !Array.isArray(m) && m.method === undefined && m.id !== undefined && responses.has(m.id)) {
        const resolve = responses.get(m.id)!;
        responses.delete(m.id);
        resolve(m);
      }
      for (const w of [...waiters]) {
        if (w.match(m)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const write = (message: unknown) => void child.stdin.write(`${typeof message === 'string' ? message : JSON.stringify(message)}\n`);
  return {
    child,
    pid: child.pid!,
    lines,
    stderr: () => stderr,
    write,
    writeRaw: (data) => new Promise<void>((resolve) => (child.stdin.write(data) ? resolve() : child.stdin.once('drain', () => resolve()))),
    request(method, params, o = {}) {
      const id = o.id ?? `raw-${++ids}`;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          responses.delete(id);
          reject(new Error(`no answer to ${method} (${String(id)}) within ${o.timeoutMs ?? 30_000} ms; stderr:\n${stderr}`));
        }, o.timeoutMs ?? 30_000);
        responses.set(id, (m) => {
          clearTimeout(timer);
          resolve(m);
        });
        write({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
      });
    },
    waitFor(match, timeoutMs = 30_000) {
      const found = lines.find(match);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = { match, resolve: (m: any) => { clearTimeout(timer); resolve(m); } };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`timed out waiting for a line; stderr:\n${stderr}`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    async close(graceMs = 3000) {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** VmHWM / VmRSS of a process, in bytes (undefined once it has exited). */
export function memoryOf(pid: number): { peak: number; current: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { peak: field('VmHWM'), current: field('VmRSS') };
  } catch {
    return undefined;
  }
}

export const INITIALIZE_PARAMS = { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw-stdio', version: '1.0.0' } };

/** initialize + notifications/initialized. */
export async function handshake(p: RawProxy, timeoutMs = 30_000): Promise<Record<string, any>> {
  const answer = await p.request('initialize', INITIALIZE_PARAMS, { timeoutMs });
  p.write({ jsonrpc: '2.0', method: 'notifications/initialized' });
  return answer;
}
