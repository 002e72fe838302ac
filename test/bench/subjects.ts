// The three things measured, all against the same cloud with the same bearer token:
//   raw         (informational) a hand-written node:http client without the SDK, in the bench process:
//               the floor any client sits on (server + loopback network + the least client work)
//   direct      the SDK Client over StreamableHTTPClientTransport, in the bench process (the baseline)
//   proxy       the SDK Client over StdioClientTransport spawning `node bin/appwrite-mcp.js --url …`,
//               which reads the stored sign-in from APPWRITE_MCP_CONFIG_DIR
//   mcp-remote  the SDK Client over StdioClientTransport spawning mcp-remote's bin with node and
//               `--header Authorization:Bearer …` (its documented static-header mode: no OAuth)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setMaxListeners } from 'node:events';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { BIN, ROOT, baseEnv } from '../helpers/cli.js';
import type { SubjectName } from './options.js';
import { RawClient } from './raw-client.js';

export interface StdioCommand {
  command: string;
  args: string[];
  env: Record<string, string>;
}

export interface Subject {
  name: SubjectName;
  /** What runs, for the report. */
  describe: string;
  /** How to spawn it (stdio subjects only). */
  stdio?: StdioCommand;
}

export interface Connected {
  subject: Subject;
  /** One `tools/call echo` round trip; rejects unless the text came back whole. */
  echo(text: string): Promise<void>;
  /** The spawned process (stdio subjects). */
  pid?: number;
  /** The last few KB of the child's stderr, for error messages. */
  stderrTail(): string;
  close(): Promise<void>;
}

const MCP_REMOTE_DIR = join(ROOT, 'node_modules/mcp-remote');

export function mcpRemoteVersion(): string {
  return (JSON.parse(readFileSync(join(MCP_REMOTE_DIR, 'package.json'), 'utf8')) as { version: string }).version;
}

function mcpRemoteBin(): string {
  const pkg = JSON.parse(readFileSync(join(MCP_REMOTE_DIR, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  return join(MCP_REMOTE_DIR, pkg.bin['mcp-remote']!);
}

function childEnv(extra: Record<string, string>): Record<string, string> {
  const env = baseEnv();
  delete env.NODE_OPTIONS; // tsx's loader must not leak into the measured processes
  return { ...(env as Record<string, string>), ...extra };
}

export interface SubjectSet {
  subjects: Subject[];
  cleanup(): void;
}

export function createSubjects(names: SubjectName[], url: string, signIn: { configDir: string; accessToken: string }): SubjectSet {
  // Extra mcp-remote flags for exploration (e.g. BENCH_MCP_REMOTE_ARGS=--silent); none by default:
  // it is measured the way its README configures it.
  const remoteExtra = (process.env.BENCH_MCP_REMOTE_ARGS ?? '').split(/\s+/).filter(Boolean);
  // Node flags for the proxy process, to try a fix before it lands (e.g. BENCH_PROXY_NODE_FLAGS=--max-semi-space-size=2).
  const proxyNodeFlags = (process.env.BENCH_PROXY_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
  const mcpRemoteConfig = mkdtempSync(join(tmpdir(), 'appwrite-mcp-bench-mcp-remote-'));
  const all: Record<SubjectName, Subject> = {
    raw: { name: 'raw', describe: 'node:http keep-alive POST + hand-parsed SSE, no SDK (in-process floor)' },
    direct: { name: 'direct', describe: 'SDK Client + StreamableHTTPClientTransport (in-process)' },
    proxy: {
      name: 'proxy',
      describe: `node ${proxyNodeFlags.length ? `${proxyNodeFlags.join(' ')} ` : ''}bin/appwrite-mcp.js --url <url> (stored sign-in, --store file)`,
      stdio: {
        command: process.execPath,
        args: [...proxyNodeFlags, BIN, '--url', url],
        env: childEnv({ APPWRITE_MCP_CONFIG_DIR: signIn.configDir }),
      },
    },
    'mcp-remote': {
      name: 'mcp-remote',
      describe: `node mcp-remote@${mcpRemoteVersion()} <url> --header Authorization:Bearer…${remoteExtra.length ? ` ${remoteExtra.join(' ')}` : ' (defaults otherwise)'}`,
      stdio: {
        command: process.execPath,
        args: [mcpRemoteBin(), url, '--header', `Authorization:Bearer ${signIn.accessToken}`, ...remoteExtra],
        env: childEnv({ MCP_REMOTE_CONFIG_DIR: mcpRemoteConfig }),
      },
    },
  };
  return {
    subjects: names.map((n) => all[n]),
    cleanup: () => rmSync(mcpRemoteConfig, { recursive: true, force: true }),
  };
}

const STDERR_TAIL = 8192;

function checkEcho(result: { content: Array<{ type: string; text?: string }>; isError?: boolean }, text: string): void {
  const first = result.content[0];
  if (result.isError || first?.type !== 'text' || first.text?.length !== text.length) {
    throw new Error(`echo came back wrong: ${JSON.stringify(result).slice(0, 300)}`);
  }
}

function sdkEcho(client: Client) {
  return async (text: string) => {
    const result = await client.request(
      { method: 'tools/call', params: { name: 'echo', arguments: { text } } },
      CallToolResultSchema,
      { timeout: 30_000 },
    );
    checkEcho(result, text);
  };
}

export async function connect(subject: Subject, url: string, token: string): Promise<Connected> {
  if (subject.name === 'raw') {
    const raw = new RawClient(url, token);
    await raw.connect();
    return {
      subject,
      echo: async (text) => checkEcho(await raw.request('tools/call', { name: 'echo', arguments: { text } }) as Parameters<typeof checkEcho>[0], text),
      stderrTail: () => '',
      close: () => raw.close(),
    };
  }
  const client = new Client({ name: 'appwrite-mcp-bench', version: '1.0.0' }, { capabilities: {} });
  if (!subject.stdio) {
    const transport = new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    });
    await client.connect(transport, { timeout: 30_000 });
    // SDK 1.32's transport hands one long-lived AbortSignal to every fetch; undici adds a listener
    // per request and drops it only at GC, so past 1500 in flight Node builds and prints a
    // MaxListenersExceededWarning (with a stack trace) on EVERY request — harness noise that would be
    // charged to the direct client. Lift the limit on that one signal.
    const signal = (transport as unknown as { _abortController?: AbortController })._abortController?.signal;
    if (signal) setMaxListeners(0, signal);
    return { subject, echo: sdkEcho(client), stderrTail: () => '', close: () => client.close() };
  }
  const transport = new StdioClientTransport({ ...subject.stdio, stderr: 'pipe' });
  // Drain stderr (a full pipe would stall the child) and keep the end for diagnostics.
  let tail = '';
  transport.stderr?.on('data', (d: Buffer) => {
    tail = (tail + d.toString()).slice(-STDERR_TAIL);
  });
  try {
    await client.connect(transport, { timeout: 30_000 });
  } catch (error) {
    await client.close().catch(() => {});
    throw new Error(`${subject.name} did not connect: ${(error as Error).message}\n--- its stderr ---\n${tail}`);
  }
  return {
    subject,
    echo: sdkEcho(client),
    pid: transport.pid ?? undefined,
    stderrTail: () => tail,
    close: () => client.close(),
  };
}
