// Starts cloud-process.ts as a child and gives the bench a handle on it.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CloudStats } from '../cloud/index.js';
import type { CloudMessage, CloudRequest } from './cloud-process.js';

export interface BenchCloud {
  mcpUrl: string;
  projectMcpUrl: string;
  /** The SDK v2 servers: 2026-07-28 only, and both eras on one URL. */
  modernMcpUrl: string;
  dualMcpUrl: string;
  issuer: string;
  user: { login: string; password: string };
  pid: number;
  stats(): Promise<CloudStats>;
  /** Restarts the 2025-era MCP server process-internally (connections dropped, same port). */
  restartMcp(): Promise<void>;
  /** The cloud's own stderr so far (shown when something fails). */
  stderr(): string;
  stop(): Promise<void>;
}

export async function startCloudProcess(): Promise<BenchCloud> {
  const child = fork(fileURLToPath(new URL('./cloud-process.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let stderr = '';
  const keep = (d: Buffer) => { stderr = (stderr + d.toString()).slice(-16_384); };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<Extract<CloudMessage, { type: 'ready' }>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the cloud did not start within 30 s:\n${stderr}`)), 30_000);
    child.on('message', (m: CloudMessage) => {
      if (m.type === 'ready') { clearTimeout(timer); resolve(m); }
      if (m.type === 'error') { clearTimeout(timer); reject(new Error(`the cloud failed to start: ${m.message}`)); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the cloud exited (${code}) while starting:\n${stderr}`)); });
  });
  let nextId = 0;
  const request = (m: CloudRequest) => child.send(m);
  return {
    mcpUrl: ready.mcpUrl,
    projectMcpUrl: ready.projectMcpUrl,
    modernMcpUrl: ready.modernMcpUrl,
    dualMcpUrl: ready.dualMcpUrl,
    issuer: ready.issuer,
    user: ready.user,
    pid: child.pid!,
    stderr: () => stderr,
    stats: () => new Promise((resolve) => {
      const id = ++nextId;
      const on = (m: CloudMessage) => {
        if (m.type === 'stats' && m.id === id) { child.off('message', on); resolve(m.stats); }
      };
      child.on('message', on);
      request({ type: 'stats', id });
    }),
    restartMcp: () => new Promise((resolve) => {
      const id = ++nextId;
      const on = (m: CloudMessage) => {
        if (m.type === 'restarted' && m.id === id) { child.off('message', on); resolve(); }
      };
      child.on('message', on);
      request({ type: 'restart-mcp', id });
    }),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      request({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
