// The two desktop clients the conformance harness drives a stdio proxy with, behind one interface:
//   2025: @modelcontextprotocol/sdk 1.32 `Client` (initialize, sessions, server→client requests)
//   2026: @modelcontextprotocol/client 2.4 `Client` with versionNegotiation 'auto' (over stdio it
//         first asks `server/discover` on a throw-away copy of the process, then speaks 2026-07-28
//         if the proxy offers it, else falls back to initialize), as test/helpers/era-clients.ts.
// Both declare elicitation (form), sampling and roots, and answer them the way a user at a desktop
// client would: an elicitation form accepted as pre-filled (its defaults, and a sample value for
// each required field without one), a canned sampling answer, one root.
import { Client as ClientV2 } from '@modelcontextprotocol/client';
import { StdioClientTransport as StdioV2 } from '@modelcontextprotocol/client/stdio';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as StdioV1 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { ClientKind } from './runs.js';
import { sampleValue, type Json } from './sample.js';

export { CLIENT_KINDS, type ClientKind } from './runs.js';

export interface Spawn {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
}

export interface DesktopClient {
  kind: ClientKind;
  /** The era it speaks with the proxy ('2025-era' or the negotiated version). */
  era(): string;
  server(): string;
  /** The capabilities the server declared (through the proxy). */
  capabilities(): Json;
  listTools(): Promise<Json[]>;
  callTool(name: string, args: Json): Promise<Json>;
  listResources(): Promise<Json[]>;
  readResource(uri: string): Promise<Json>;
  listPrompts(): Promise<Json[]>;
  getPrompt(name: string, args: Record<string, string>): Promise<Json>;
  /** A request outside the core methods (skills/list), answered as a plain object. */
  request(method: string, params: Json): Promise<Json>;
  /** The proxy's pid (the 2026 client's discovery copy is not counted). */
  pid(): number | undefined;
  close(): Promise<void>;
}

export interface ClientEvents {
  say(line: string): void;
  /** The proxy's stderr, as it comes. */
  stderr(stream: NodeJS.ReadableStream | null): void;
}

const CAPABILITIES = { elicitation: { form: {} }, sampling: {}, roots: {} };
const INFO = { name: 'appwrite-mcp-conformance-desktop', version: '1.0.0' };
const ROOTS = { roots: [{ uri: 'file:///work/project', name: 'project' }] };
const SAMPLED = { role: 'assistant', content: { type: 'text', text: 'sampled answer' }, model: 'conformance-model', stopReason: 'endTurn' };
const AnyResult = z.looseObject({});
const PAGE_LIMIT = 20;

/** The user accepts the form as the client pre-filled it: each field's default, else a sample value for required ones. */
export function acceptForm(params: Json): Json {
  const schema = params.requestedSchema ?? {};
  const required = new Set<string>(schema.required ?? []);
  const content: Json = {};
  for (const [name, prop] of Object.entries<Json>(schema.properties ?? {})) {
    if (prop.default !== undefined) content[name] = prop.default;
    else if (required.has(name)) content[name] = sampleValue(prop, schema);
  }
  return { action: 'accept', content };
}

export async function connectClient(kind: ClientKind, spawn: Spawn, events: ClientEvents, timeoutMs: number): Promise<DesktopClient> {
  return kind === '2025' ? connect2025(spawn, events, timeoutMs) : connect2026(spawn, events, timeoutMs);
}

/** The pid of the process a stdio transport starts, kept after the transport forgets it (on close). */
function trackPid(transport: { start(): Promise<void>; pid: number | null }): () => number | undefined {
  let pid: number | undefined;
  const start = transport.start.bind(transport);
  transport.start = async () => {
    await start();
    pid = transport.pid ?? undefined;
  };
  return () => pid;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * Closes the client (the SDK ends the proxy's stdin, waits 2 s, then sends SIGTERM; after a failed
 * connect the SDK has already begun that itself) and says how long the proxy took to go: a proxy
 * must exit on stdin EOF by itself.
 */
async function closeTimed(close: () => Promise<void>, pid: number | undefined, events: ClientEvents): Promise<void> {
  const started = Date.now();
  await close();
  while (pid !== undefined && alive(pid) && Date.now() - started < 5_000) await new Promise((r) => setTimeout(r, 25));
  const ms = Date.now() - started;
  if (pid !== undefined && alive(pid)) events.say(`proxy still running 5 s after its stdin closed`);
  else events.say(`proxy gone ${ms} ms after its stdin closed${ms >= 1_900 ? ' (it did not exit on stdin EOF: the SDK sent SIGTERM after 2 s)' : ''}`);
}

async function pages(fetch: (cursor?: string) => Promise<Json>, key: string): Promise<Json[]> {
  const all: Json[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < PAGE_LIMIT; i++) {
    const page = await fetch(cursor);
    all.push(...(page[key] ?? []));
    cursor = page.nextCursor;
    if (!cursor) return all;
  }
  throw new Error(`${key}: more than ${PAGE_LIMIT} pages`);
}

async function connect2025(spawn: Spawn, events: ClientEvents, timeoutMs: number): Promise<DesktopClient> {
  const client = new ClientV1(INFO, { capabilities: CAPABILITIES });
  client.setRequestHandler(ElicitRequestSchema, async (r) => {
    events.say(`elicitation/create: ${r.params.message}`);
    return acceptForm(r.params as Json) as any;
  });
  client.setRequestHandler(CreateMessageRequestSchema, async () => SAMPLED as any);
  client.setRequestHandler(ListRootsRequestSchema, async () => ROOTS);
  client.onerror = (err) => events.say(`client error: ${err.message}`);
  const transport = new StdioV1({ ...spawn, stderr: 'pipe' });
  events.stderr(transport.stderr as NodeJS.ReadableStream | null);
  // The protocolVersion of the initialize answer (the SDK keeps it to itself): wrap the handler
  // the client installs just before the transport starts.
  let version = '?';
  const start = transport.start.bind(transport);
  transport.start = () => {
    const inner = transport.onmessage;
    transport.onmessage = (message: any) => {
      if (typeof message?.result?.protocolVersion === 'string' && version === '?') version = message.result.protocolVersion;
      inner?.(message);
    };
    return start();
  };
  const pid = trackPid(transport);
  const options = { timeout: timeoutMs };
  try {
    await client.connect(transport, options);
  } catch (err) {
    await closeTimed(() => transport.close(), pid(), events);
    throw err;
  }
  return {
    kind: '2025',
    era: () => `legacy (${version})`,
    server: () => `${client.getServerVersion()?.name} ${client.getServerVersion()?.version}`,
    capabilities: () => (client.getServerCapabilities() ?? {}) as Json,
    listTools: () => pages((cursor) => client.listTools({ cursor }, options) as Promise<Json>, 'tools'),
    callTool: (name, args) => client.callTool({ name, arguments: args }, undefined, options) as Promise<Json>,
    listResources: () => pages((cursor) => client.listResources({ cursor }, options) as Promise<Json>, 'resources'),
    readResource: (uri) => client.readResource({ uri }, options) as Promise<Json>,
    listPrompts: () => pages((cursor) => client.listPrompts({ cursor }, options) as Promise<Json>, 'prompts'),
    getPrompt: (name, args) => client.getPrompt({ name, arguments: args }, options) as Promise<Json>,
    request: (method, params) => client.request({ method, params }, AnyResult as any, options) as Promise<Json>,
    pid,
    close: () => closeTimed(() => client.close(), pid(), events),
  };
}

async function connect2026(spawn: Spawn, events: ClientEvents, timeoutMs: number): Promise<DesktopClient> {
  const client = new ClientV2(INFO, { capabilities: CAPABILITIES, versionNegotiation: { mode: 'auto' } } as any);
  client.setRequestHandler('elicitation/create', async (r: any) => {
    events.say(`elicitation/create: ${r.params.message}`);
    return acceptForm(r.params) as any;
  });
  client.setRequestHandler('sampling/createMessage', async () => SAMPLED as any);
  client.setRequestHandler('roots/list', async () => ROOTS as any);
  client.onerror = (err: Error) => events.say(`client error: ${err.message}`);
  const transport = new StdioV2({ ...spawn, stderr: 'pipe' });
  events.stderr(transport.stderr as NodeJS.ReadableStream | null);
  const pid = trackPid(transport);
  const options = { timeout: timeoutMs };
  try {
    await client.connect(transport, options as any);
  } catch (err) {
    await closeTimed(() => transport.close(), pid(), events);
    throw err;
  }
  return {
    kind: '2026',
    era: () => `${client.getProtocolEra()} (${client.getNegotiatedProtocolVersion() ?? '?'})`,
    server: () => `${client.getServerVersion()?.name} ${client.getServerVersion()?.version}`,
    capabilities: () => (client.getServerCapabilities() ?? {}) as Json,
    // The v2 list verbs walk every page themselves.
    listTools: async () => (await client.listTools(undefined, options)).tools as Json[],
    callTool: (name, args) => client.callTool({ name, arguments: args }, options as any) as Promise<Json>,
    listResources: async () => (await client.listResources(undefined, options)).resources as Json[],
    readResource: (uri) => client.readResource({ uri }, options) as Promise<Json>,
    listPrompts: async () => (await client.listPrompts(undefined, options)).prompts as Json[],
    getPrompt: (name, args) => client.getPrompt({ name, arguments: args }, options) as Promise<Json>,
    request: (method, params) => client.request({ method, params } as any, AnyResult, options) as Promise<Json>,
    pid,
    close: () => closeTimed(() => client.close(), pid(), events),
  };
}
