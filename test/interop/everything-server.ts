// @modelcontextprotocol/server-everything (pinned in package.json), started the way its package
// documents: its bin (`dist/index.js`) with the transport as first argument, here `streamableHttp`,
// which serves POST/GET/DELETE on /mcp with sessions and an in-memory event store (resumable SSE).
// It reads only PORT; everything-loopback.mjs makes it bind 127.0.0.1 and tells us the port and
// each request that reaches it.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE = '@modelcontextprotocol/server-everything';
const PRELOAD = fileURLToPath(new URL('./everything-loopback.mjs', import.meta.url));

export interface SeenRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface EverythingServer {
  /** http://127.0.0.1:<port>/mcp */
  url: string;
  address: { address: string; family: string; port: number };
  version: string;
  /** The command line it was started with, for the test output. */
  command: string;
  /** Every HTTP request that reached it so far, in order. */
  requests: SeenRequest[];
  /** What it printed (stdout and stderr), for failure messages. */
  output(): string;
  /** Resolves once `predicate` holds for a request seen (bounded). */
  waitForRequest(predicate: (r: SeenRequest) => boolean, what: string, timeoutMs?: number): Promise<SeenRequest>;
  stop(): Promise<void>;
}

export function everythingPackage(): { version: string; bin: string } {
  const require = createRequire(import.meta.url);
  const manifestPath = require.resolve(`${PACKAGE}/package.json`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { version: string; bin: Record<string, string> };
  return { version: manifest.version, bin: join(dirname(manifestPath), manifest.bin['mcp-server-everything']!) };
}

export async function startEverything(opts: { startTimeoutMs?: number } = {}): Promise<EverythingServer> {
  const { version, bin } = everythingPackage();
  const args = ['--import', PRELOAD, bin, 'streamableHttp'];
  // A minimal environment: get-env returns the server's whole environment, and gzip-file-as-resource
  // may fetch only from a domain that does not exist (the tour gives it data: URLs).
  const env = { PORT: '0', GZIP_ALLOWED_DOMAINS: 'example.invalid' };
  const child: ChildProcess = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const requests: SeenRequest[] = [];
  const waiters = new Set<() => void>();
  let address: EverythingServer['address'] | undefined;
  child.on('message', (m: { type: string; address?: EverythingServer['address'] } & SeenRequest) => {
    if (m.type === 'listening') address = m.address;
    if (m.type === 'request') requests.push({ method: m.method, url: m.url, headers: m.headers });
    for (const wake of waiters) wake();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => {
    for (const wake of waiters) wake();
  });

  const until = <T>(check: () => T | undefined, what: string, timeoutMs: number): Promise<T> =>
    new Promise((resolve, reject) => {
      const done = (fn: () => void) => {
        clearTimeout(timer);
        waiters.delete(wake);
        fn();
      };
      const wake = () => {
        const value = check();
        if (value !== undefined) done(() => resolve(value));
        else if (child.exitCode !== null || child.signalCode !== null) done(() => reject(new Error(`server-everything exited while waiting for ${what}:\n${output}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`server-everything: no ${what} within ${timeoutMs} ms:\n${output}`))), timeoutMs);
      waiters.add(wake);
      wake();
    });

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killed = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(killed);
  };

  try {
    await until(() => address, 'listening address', opts.startTimeoutMs ?? 20_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url: `http://${address!.address}:${address!.port}/mcp`,
    address: address!,
    version,
    command: `PORT=0 node --import test/interop/everything-loopback.mjs node_modules/${PACKAGE}/${bin.split(`${PACKAGE}/`)[1]} streamableHttp`,
    requests,
    output: () => output,
    waitForRequest: (predicate, what, timeoutMs = 10_000) => until(() => requests.find(predicate), what, timeoutMs),
    stop,
  };
}
