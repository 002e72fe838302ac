// Real MCP clients of both protocol eras behind one small interface, so that one test body runs
// against the proxy and against the server directly:
//   v1: @modelcontextprotocol/sdk 1.32 (2025 era: initialize, sessions, server→client requests)
//   v2: @modelcontextprotocol/client 2.4 with versionNegotiation 'auto' (2026-07-28 when the other
//       side offers it; over stdio it asks `server/discover` on a throw-away copy of the process first)
// Each records every message it receives below the SDK (the wire as the client saw it).
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { StdioClientTransport as StdioV2 } from '@modelcontextprotocol/client/stdio';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as StdioV1 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as HttpV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { BIN, baseEnv } from './cli.js';

export type Json = Record<string, any>;
export type Capability = 'elicitation' | 'sampling' | 'roots';

export interface EraClient {
  kind: 'v1' | 'v2';
  via: 'proxy' | 'direct';
  /** Every message received, in order. */
  received: Json[];
  /** The server requests the client answered: method and params. */
  asked: Json[];
  serverInfo(): { name: string; version: string } | undefined;
  instructions(): string | undefined;
  /** v2: the era it negotiated. */
  era(): 'modern' | 'legacy' | undefined;
  listTools(): Promise<Json[]>;
  call(name: string, args: Json, opts?: { signal?: AbortSignal; onprogress?: (p: Json) => void }): Promise<Json>;
  read(uri: string): Promise<Json>;
  prompt(name: string, args: Record<string, string>): Promise<Json>;
  stderr(): string;
  pid?: number;
  close(): Promise<void>;
}

export interface ConnectOptions {
  capabilities?: Capability[];
  /** Extra CLI args for the proxy (after --url). */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** v2 only: a client pinned to 2026-07-28 (no fallback to 2025). */
  modernOnly?: boolean;
  /** v2 only: ask for list-change notifications (opens subscriptions/listen). */
  listChanged?: (what: string) => void;
}

export const ANSWERS = {
  elicitation: { action: 'accept', content: { answer: 'Ada' } },
  sampling: { role: 'assistant', content: { type: 'text', text: 'sampled Ada' }, model: 'test-model' },
  roots: { roots: [{ uri: 'file:///work/project', name: 'project' }] },
};

function capabilitiesOf(list: Capability[]): Json {
  return Object.fromEntries(list.map((c) => [c, {}]));
}

function record(transport: { onmessage?: (m: any, extra?: any) => void }, into: Json[]): void {
  const original = transport.onmessage!;
  transport.onmessage = (message: any, extra?: any) => {
    into.push(message);
    original(message, extra);
  };
}

export async function connectV1(target: { proxy: string; env: NodeJS.ProcessEnv } | { url: string; token: string }, o: ConnectOptions = {}): Promise<EraClient> {
  const caps = o.capabilities ?? ['elicitation', 'roots'];
  const client = new ClientV1({ name: 'era-test-v1', version: '1.32.0' }, { capabilities: capabilitiesOf(caps) });
  const asked: Json[] = [];
  if (caps.includes('elicitation')) client.setRequestHandler(ElicitRequestSchema, async (r) => (asked.push({ method: r.method, params: r.params }), ANSWERS.elicitation as any));
  if (caps.includes('sampling')) client.setRequestHandler(CreateMessageRequestSchema, async (r) => (asked.push({ method: r.method, params: r.params }), ANSWERS.sampling as any));
  if (caps.includes('roots')) client.setRequestHandler(ListRootsRequestSchema, async (r) => (asked.push({ method: r.method }), ANSWERS.roots));
  let stderr = '';
  let pid: number | undefined;
  let transport: StdioV1 | HttpV1;
  if ('proxy' in target) {
    const stdio = new StdioV1({ command: process.execPath, args: [BIN, '--url', target.proxy, ...(o.args ?? [])], env: { ...baseEnv(), ...target.env } as Record<string, string>, stderr: 'pipe' });
    stdio.stderr?.on('data', (d) => (stderr += d));
    transport = stdio;
  } else {
    transport = new HttpV1(new URL(target.url), { requestInit: { headers: { Authorization: `Bearer ${target.token}` } } });
  }
  await client.connect(transport, { timeout: o.timeoutMs ?? 55_000 });
  if (transport instanceof StdioV1) pid = transport.pid ?? undefined;
  const received: Json[] = [];
  record(transport as any, received);
  return {
    kind: 'v1',
    via: 'proxy' in target ? 'proxy' : 'direct',
    received,
    asked,
    serverInfo: () => client.getServerVersion() as any,
    instructions: () => client.getInstructions(),
    era: () => undefined,
    listTools: async () => (await client.listTools()).tools as Json[],
    call: (name, args, opts = {}) => client.callTool({ name, arguments: args }, undefined, { signal: opts.signal, onprogress: opts.onprogress, timeout: 30_000 }) as Promise<Json>,
    read: (uri) => client.readResource({ uri }) as Promise<Json>,
    prompt: (name, args) => client.getPrompt({ name, arguments: args }) as Promise<Json>,
    stderr: () => stderr,
    pid,
    close: () => client.close(),
  };
}

export async function connectV2(target: { proxy: string; env: NodeJS.ProcessEnv } | { url: string; token: string }, o: ConnectOptions = {}): Promise<EraClient> {
  const caps = o.capabilities ?? ['elicitation', 'roots'];
  const client = new ClientV2({ name: 'era-test-v2', version: '2.4.0' }, {
    capabilities: capabilitiesOf(caps),
    versionNegotiation: { mode: o.modernOnly ? { pin: '2026-07-28' } : 'auto' },
    ...(o.listChanged ? { listChanged: { tools: { onChanged: () => o.listChanged!('tools') } } } : {}),
  } as any);
  const asked: Json[] = [];
  if (caps.includes('elicitation')) client.setRequestHandler('elicitation/create', async (r: any) => (asked.push({ method: r.method, params: r.params }), ANSWERS.elicitation as any));
  if (caps.includes('sampling')) client.setRequestHandler('sampling/createMessage', async (r: any) => (asked.push({ method: r.method, params: r.params }), ANSWERS.sampling as any));
  if (caps.includes('roots')) client.setRequestHandler('roots/list', async (r: any) => (asked.push({ method: r.method }), ANSWERS.roots));
  let stderr = '';
  let transport: StdioV2 | HttpV2;
  if ('proxy' in target) {
    const stdio = new StdioV2({ command: process.execPath, args: [BIN, '--url', target.proxy, ...(o.args ?? [])], env: { ...baseEnv(), ...target.env } as Record<string, string>, stderr: 'pipe' });
    stdio.stderr?.on('data', (d) => (stderr += d));
    transport = stdio;
  } else {
    transport = new HttpV2(new URL(target.url), { requestInit: { headers: { Authorization: `Bearer ${target.token}` } } });
  }
  await client.connect(transport, { timeout: o.timeoutMs ?? 55_000 } as any);
  const received: Json[] = [];
  record(transport as any, received);
  return {
    kind: 'v2',
    via: 'proxy' in target ? 'proxy' : 'direct',
    received,
    asked,
    serverInfo: () => client.getServerVersion() as any,
    instructions: () => client.getInstructions(),
    era: () => client.getProtocolEra() as 'modern' | 'legacy',
    listTools: async () => (await client.listTools()).tools as Json[],
    call: (name, args, opts = {}) => client.callTool({ name, arguments: args }, { signal: opts.signal, onprogress: opts.onprogress, timeout: 30_000 } as any) as Promise<Json>,
    read: (uri) => client.readResource({ uri }) as Promise<Json>,
    prompt: (name, args) => client.getPrompt({ name, arguments: args }) as Promise<Json>,
    stderr: () => stderr,
    pid: transport instanceof StdioV2 ? transport.pid ?? undefined : undefined,
    close: () => client.close(),
  };
}

export function textOf(result: Json): string {
  return (result.content ?? []).map((c: Json) => c.text ?? '').join('');
}
