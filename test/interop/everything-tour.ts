// The tour of @modelcontextprotocol/server-everything that everything.test.ts runs twice with the
// same SDK Client: once over a direct StreamableHTTPClientTransport, once through the proxy over
// stdio. A RecordingTransport between the Client and its transport keeps every JSON-RPC message in
// both directions, in the order the Client saw them; each received message also gets the exact text
// it arrived as (attachRaw: the SSE `data` of the HTTP response, or the proxy's stdout line). Each
// step of the tour marks its slice of that record, and viewOf() gives the test what to line up.
//
// What a step is compared on, after normalize():
//  - the response to each request the client made in it (result or error, with its JSON-RPC id);
//  - the server-to-client requests that arrived during it and the client's answers to them;
//  - the progress notifications for its requests, in order.
// Notifications that are not tied to a request (logging, resource updates, list_changed) travel on
// the standalone GET stream, so their order against responses is not deterministic: they are
// compared as one set for the whole tour (and the steps that cause them wait for them).
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTaskStore } from '@modelcontextprotocol/sdk/experimental/tasks';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CallToolResultSchema,
  CreateMessageRequestSchema,
  CreateTaskResultSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  UrlElicitationRequiredError,
  type JSONRPCMessage,
  type MessageExtraInfo,
} from '@modelcontextprotocol/sdk/types.js';

// ── recording ──────────────────────────────────────────────────────────────────────────────────

export interface WireEntry {
  dir: 'in' | 'out';
  /**
   * JSON.stringify of the message as the transport delivered or was given it. For 'out' these are
   * the bytes sent (both SDK transports send JSON.stringify(message)); for 'in' the SDK transports
   * have already run the message through their zod schema, which reorders keys: see `raw`.
   */
  text: string;
  /** For 'in': the message's text exactly as it arrived (attachRaw). */
  raw?: string;
  message: JsonRpc;
  at: number;
}

type JsonRpc = {
  jsonrpc: '2.0';
  id?: string | number;
  method?: string;
  params?: Record<string, unknown> & { _meta?: Record<string, unknown> };
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
};

/** Sits between the Client and the real transport; records both directions. */
export class RecordingTransport implements Transport {
  readonly wire: WireEntry[] = [];
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly inner: Transport,
    private readonly afterStart?: () => void,
  ) {}

  async start(): Promise<void> {
    this.inner.onmessage = (message, extra) => {
      this.record('in', message);
      this.onmessage?.(message, extra);
    };
    this.inner.onerror = (error) => this.onerror?.(error);
    this.inner.onclose = () => this.onclose?.();
    await this.inner.start();
    this.afterStart?.();
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    this.record('out', message);
    return this.inner.send(message, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  get sessionId(): string | undefined {
    return this.inner.sessionId;
  }

  setProtocolVersion(version: string): void {
    this.inner.setProtocolVersion?.(version);
  }

  /** The first entry from index `from` on that matches, waiting for it up to `timeoutMs`. */
  waitFor(predicate: (e: WireEntry) => boolean, what: string, opts: { from?: number; timeoutMs?: number } = {}): Promise<WireEntry> {
    const timeoutMs = opts.timeoutMs ?? WAIT_MS;
    let scanned = opts.from ?? 0;
    return new Promise((resolve, reject) => {
      const check = () => {
        for (; scanned < this.wire.length; scanned++) {
          if (predicate(this.wire[scanned]!)) {
            finish();
            resolve(this.wire[scanned]!);
            return;
          }
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  private record(dir: 'in' | 'out', message: JSONRPCMessage): void {
    const text = JSON.stringify(message);
    this.wire.push({ dir, text, message: JSON.parse(text) as JsonRpc, at: Date.now() });
    for (const check of [...this.waiters]) check();
  }
}

/**
 * A fetch for StreamableHTTPClientTransport that also hands over the text of each JSON-RPC message
 * in the responses, exactly as it arrived (the `data` of each SSE event, or a JSON body).
 */
export function tappingFetch(onText: (text: string) => void): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    const type = res.headers.get('content-type') ?? '';
    const sse = type.startsWith('text/event-stream');
    if (!res.body || !(sse || type.includes('json'))) return res;
    const [mine, theirs] = res.body.tee();
    void read(mine, sse, onText).catch(() => {}); // ends with the response, or when the SDK aborts it
    return new Response(theirs, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

async function read(body: ReadableStream<Uint8Array>, sse: boolean, onText: (text: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let text = '';
  let data: string[] = [];
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    text += decoder.decode(chunk, { stream: true });
    if (!sse) continue;
    let nl: number;
    while ((nl = text.indexOf('\n')) !== -1) {
      const line = text.slice(0, nl).replace(/\r$/, '');
      text = text.slice(nl + 1);
      if (line === '') {
        // like the SDK client: an event without data (the priming event) is no message
        if (data.length && data.join('\n') !== '') onText(data.join('\n'));
        data = [];
      } else if (line.startsWith('data:')) {
        data.push(line.slice(line[5] === ' ' ? 6 : 5));
      }
    }
  }
  if (!sse && text.trim()) onText(text.trim());
}

/** JSON with object keys sorted: equal for two texts of the same message, whatever their key order. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/**
 * Gives each received message its text as it arrived. `inOrder`: texts[i] is the i-th message
 * received (stdio: one line per message, read in order); otherwise each message takes the first
 * unused text of the same content (HTTP: several streams at once). Returns the messages left without.
 */
export function attachRaw(wire: WireEntry[], texts: string[], inOrder: boolean): WireEntry[] {
  const received = wire.filter((e) => e.dir === 'in');
  const keys = texts.map((t) => canonical(JSON.parse(t)));
  const used = new Set<number>();
  received.forEach((e, i) => {
    const key = canonical(e.message);
    const j = inOrder ? (keys[i] === key ? i : -1) : keys.findIndex((k, j) => !used.has(j) && k === key);
    if (j >= 0) {
      used.add(j);
      e.raw = texts[j];
    }
  });
  return received.filter((e) => e.raw === undefined);
}

/** Bound for anything the tour waits for; generous for a loaded 2-core machine. */
const WAIT_MS = 30_000;

// ── the tour ───────────────────────────────────────────────────────────────────────────────────

export const CLIENT_INFO = { name: 'everything-tour', version: '1.0.0' };

/** Everything the tour's client says it can do: each unlocks tools that server-everything registers only for such clients. */
export const CLIENT_CAPABILITIES = {
  sampling: {},
  elicitation: { form: {}, url: {} },
  roots: { listChanged: true },
  tasks: { requests: { sampling: { createMessage: {} }, elicitation: { create: {} } } },
};

export const ROOTS_BEFORE = [{ uri: 'file:///work/tour', name: 'tour' }];
export const ROOTS_AFTER = [...ROOTS_BEFORE, { uri: 'file:///work/tour-2', name: 'tour, second root' }];

const SAMPLED_REPLY = 'A sampled reply from the tour client: ✓';
const FORM_ANSWER = {
  name: 'Ada Lovelace',
  check: true,
  email: 'ada@example.com',
  homepage: 'https://example.com/ada',
  birthdate: '1815-12-10',
  integer: 7,
  number: 2.5,
  untitledSingleSelectEnum: 'Joey',
  untitledMultipleSelectEnum: ['Piano', 'Drums'],
  titledSingleSelectEnum: 'hero-3',
  titledMultipleSelectEnum: ['fish-2'],
  legacyTitledEnum: 'pet-4',
};
const GZIP_INPUT = 'everything-tour: a small file to gzip, with ünïcödé ✓\n'.repeat(20);
export const CANCEL_REASON = 'the tour cancels this on purpose';
/** trigger-long-running-operation arguments for the cancelled call: it would run 2 s. */
const CANCELLED_RUN = { duration: 2, steps: 4 };
export const CANCELLED_RUN_MS = CANCELLED_RUN.duration * 1000;

export interface Step {
  name: string;
  /** Index range of this step in the wire record. */
  start: number;
  end: number;
  /** Ids of requests whose responses are not expected (cancelled). */
  cancelled: Array<string | number>;
  /** Index of the notifications/cancelled sent in this step, if any. */
  cancelIndex?: number;
  /** What the step observed beyond the wire, for assertions (e.g. what a call threw). */
  observed: Record<string, unknown>;
}

export interface TourRun {
  side: string;
  wire: WireEntry[];
  steps: Step[];
  /** Strings the server generated at random in this run, replaced by placeholders in normalize(). */
  volatile: Volatile;
  /** Errors the Client or transport reported (onerror). */
  errors: string[];
  startedAt: number;
  cancelledAt?: number;
}

export interface Volatile {
  sessionId?: string;
  serverTaskIds: Set<string>;
  clientTaskIds: Set<string>;
}

export interface TourOptions {
  side: string;
  /** The SDK Client, not yet connected, with CLIENT_CAPABILITIES and a task store. */
  client: Client;
  transport: RecordingTransport;
  /** The server's session id for this client (for the proxy it is only visible server-side). */
  sessionId(): string | undefined;
  /** Run after every step: e.g. that no browser was opened. */
  afterStep?(step: string): void;
  log?(line: string): void;
}

/**
 * The client's task store (for the server's *-async tools, SEP-1686 tasks run by the client). A task
 * the client runs finishes when the server first asks about it (tasks/get): its result is known at
 * once, and finishing it on that first look makes the server's poll history ("Poll 1: completed")
 * the same in every run, however loaded the machine.
 */
export class TourTaskStore extends InMemoryTaskStore {
  private readonly finishOnFirstLook = new Map<string, Record<string, unknown>>();

  later(taskId: string, result: Record<string, unknown>): void {
    this.finishOnFirstLook.set(taskId, result);
  }

  override async getTask(taskId: string, sessionId?: string): ReturnType<InMemoryTaskStore['getTask']> {
    const result = this.finishOnFirstLook.get(taskId);
    if (result) {
      this.finishOnFirstLook.delete(taskId);
      await this.storeTaskResult(taskId, 'completed', result as never, sessionId);
    }
    return super.getTask(taskId, sessionId);
  }
}

/** Installs the client's side of the server-to-client requests: sampling, elicitation, roots. */
export function installClientHandlers(client: Client, volatile: Volatile, roots: { current: Array<{ uri: string; name: string }> }, tasks: TourTaskStore): void {
  client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: roots.current }));

  client.setRequestHandler(CreateMessageRequestSchema, async (request, extra) => {
    const first = request.params.messages[0]?.content;
    const prompt = first && !Array.isArray(first) && first.type === 'text' ? first.text : '';
    const result = { model: 'tour-model', role: 'assistant' as const, content: { type: 'text' as const, text: `${SAMPLED_REPLY} (${prompt})` }, stopReason: 'endTurn' };
    if (!request.params.task) return result;
    return asClientTask(extra, volatile, tasks, result);
  });

  client.setRequestHandler(ElicitRequestSchema, async (request, extra) => {
    const params = request.params;
    let result: { action: 'accept'; content?: Record<string, string | number | boolean | string[]> };
    if (params.mode === 'url') {
      result = { action: 'accept' };
    } else if ('interpretation' in (params.requestedSchema.properties ?? {})) {
      result = { action: 'accept', content: { interpretation: 'programming' } };
    } else {
      result = { action: 'accept', content: FORM_ANSWER };
    }
    if (!params.task) return result;
    return asClientTask(extra, volatile, tasks, result);
  });
}

/** A request the server asked the client to run as a task: created "working", finished on the server's first tasks/get. */
async function asClientTask(extra: { taskStore?: { createTask(p: { ttl?: number }): Promise<{ taskId: string }> }; taskRequestedTtl?: number }, volatile: Volatile, tasks: TourTaskStore, result: Record<string, unknown>) {
  if (!extra.taskStore) throw new Error('the tour client has no task store');
  const task = await extra.taskStore.createTask({ ttl: extra.taskRequestedTtl });
  volatile.clientTaskIds.add(task.taskId);
  tasks.later(task.taskId, result);
  return { task: { ...task } } as unknown as Record<string, unknown>;
}

type Ctx = {
  client: Client;
  t: RecordingTransport;
  step: Step;
  roots: { current: Array<{ uri: string; name: string }> };
  volatile: Volatile;
  run: TourRun;
};

const isRequestIn = (method: string) => (e: WireEntry) => e.dir === 'in' && e.message.method === method && e.message.id !== undefined;
const isNotification = (method: string, test: (params: Record<string, unknown>) => boolean = () => true) => (e: WireEntry) =>
  e.dir === 'in' && e.message.method === method && e.message.id === undefined && test(e.message.params ?? {});
const logSays = (pattern: RegExp) => isNotification('notifications/message', (p) => typeof p.data === 'string' && pattern.test(p.data));

const SUBSCRIBED_QUIET = 'demo://resource/dynamic/text/1';
const SUBSCRIBED_LOUD = 'demo://resource/dynamic/blob/2';

/** The tour, in order. Each step runs to completion (and waits for what it causes) before the next. */
export const STEPS: Array<[string, (c: Ctx) => Promise<void>]> = [
  ['initialize (+ roots/list the server sends on connect)', async ({ client, t, step }) => {
    await client.connect(t);
    // server-everything asks for the roots 350 ms after notifications/initialized, on the GET stream.
    await t.waitFor(isRequestIn('roots/list'), 'roots/list from the server after initialize', { from: step.start });
    await t.waitFor(logSays(/^Roots updated: 1 root/), 'the "Roots updated" log message', { from: step.start });
  }],
  ['ping', async ({ client }) => void (await client.ping())],
  ['tools/list', async ({ client }) => void (await client.listTools())],
  ['prompts/list', async ({ client }) => void (await client.listPrompts())],
  ['resources/list', async ({ client }) => void (await client.listResources())],
  ['resources/templates/list', async ({ client }) => void (await client.listResourceTemplates())],
  ['tools/call echo', async ({ client }) => void (await client.callTool({ name: 'echo', arguments: { message: 'héllo ✓ "quoted" \\ back\nslash, tab\t, emoji 🧭, nul-free' } }))],
  ['tools/call get-sum', async ({ client }) => void (await client.callTool({ name: 'get-sum', arguments: { a: 2.5, b: -7 } }))],
  ['tools/call get-annotated-message (+image)', async ({ client }) => void (await client.callTool({ name: 'get-annotated-message', arguments: { messageType: 'error', includeImage: true } }))],
  ['tools/call get-tiny-image', async ({ client }) => void (await client.callTool({ name: 'get-tiny-image', arguments: {} }))],
  ['tools/call get-structured-content', async ({ client, step }) => {
    const result = await client.callTool({ name: 'get-structured-content', arguments: { location: 'Chicago' } });
    step.observed.structuredContent = result.structuredContent;
  }],
  ['tools/call get-resource-links', async ({ client }) => void (await client.callTool({ name: 'get-resource-links', arguments: { count: 4 } }))],
  ['tools/call get-resource-reference', async ({ client }) => void (await client.callTool({ name: 'get-resource-reference', arguments: { resourceType: 'Blob', resourceId: 3 } }))],
  ['tools/call get-env', async ({ client }) => void (await client.callTool({ name: 'get-env', arguments: {} }))],
  ['tools/call gzip-file-as-resource (+list_changed)', async ({ client, t, step }) => {
    const data = `data:text/plain;base64,${Buffer.from(GZIP_INPUT).toString('base64')}`;
    await client.callTool({ name: 'gzip-file-as-resource', arguments: { name: 'tour.txt.gz', data, outputType: 'resourceLink' } });
    await t.waitFor(isNotification('notifications/resources/list_changed'), 'resources/list_changed after gzip-file-as-resource', { from: step.start });
  }],
  ['resources/list (with the session resource)', async ({ client }) => void (await client.listResources())],
  ['resources/read session blob (gzip)', async ({ client, step }) => {
    const { contents } = await client.readResource({ uri: 'demo://resource/session/tour.txt.gz' });
    step.observed.blob = (contents[0] as { blob?: string }).blob;
  }],
  ['resources/read dynamic text', async ({ client }) => void (await client.readResource({ uri: 'demo://resource/dynamic/text/2' }))],
  ['resources/read dynamic blob', async ({ client }) => void (await client.readResource({ uri: 'demo://resource/dynamic/blob/5' }))],
  ['resources/read static document', async ({ client }) => void (await client.readResource({ uri: 'demo://resource/static/document/features.md' }))],
  ['resources/read unknown (error)', async ({ client, step }) => {
    step.observed.error = await client.readResource({ uri: 'demo://resource/dynamic/text/0' }).then(() => undefined, (e: Error) => e.message);
  }],
  ['prompts/get simple-prompt', async ({ client }) => void (await client.getPrompt({ name: 'simple-prompt' }))],
  ['prompts/get args-prompt', async ({ client }) => void (await client.getPrompt({ name: 'args-prompt', arguments: { city: 'Zürich', state: 'ZH' } }))],
  ['prompts/get completable-prompt', async ({ client }) => void (await client.getPrompt({ name: 'completable-prompt', arguments: { department: 'Engineering', name: 'Alice' } }))],
  ['prompts/get resource-prompt', async ({ client }) => void (await client.getPrompt({ name: 'resource-prompt', arguments: { resourceType: 'Text', resourceId: '4' } }))],
  ['completion/complete prompt argument', async ({ client }) => void (await client.complete({ ref: { type: 'ref/prompt', name: 'completable-prompt' }, argument: { name: 'department', value: 'S' } }))],
  ['completion/complete with context', async ({ client }) => void (await client.complete({ ref: { type: 'ref/prompt', name: 'completable-prompt' }, argument: { name: 'name', value: '' }, context: { arguments: { department: 'Sales' } } }))],
  ['completion/complete resource template', async ({ client }) => void (await client.complete({ ref: { type: 'ref/resource', uri: 'demo://resource/dynamic/text/{resourceId}' }, argument: { name: 'resourceId', value: '7' } }))],
  ['logging/setLevel warning', async ({ client }) => void (await client.setLoggingLevel('warning'))],
  ['resources/subscribe (its info log filtered out)', async ({ client }) => void (await client.subscribeResource({ uri: SUBSCRIBED_QUIET }))],
  ['logging/setLevel debug', async ({ client }) => void (await client.setLoggingLevel('debug'))],
  ['resources/subscribe (its info log delivered)', async ({ client, t, step }) => {
    await client.subscribeResource({ uri: SUBSCRIBED_LOUD });
    await t.waitFor(logSays(new RegExp(`^Received Subscribe Resource request for URI: ${escape(SUBSCRIBED_LOUD)}`)), 'the subscribe log message', { from: step.start });
  }],
  ['tools/call toggle-subscriber-updates on (+resources/updated)', async ({ client, t, step }) => {
    await client.callTool({ name: 'toggle-subscriber-updates', arguments: {} });
    for (const uri of [SUBSCRIBED_QUIET, SUBSCRIBED_LOUD]) {
      await t.waitFor(isNotification('notifications/resources/updated', (p) => p.uri === uri), `resources/updated for ${uri}`, { from: step.start });
    }
  }],
  ['tools/call toggle-subscriber-updates off', async ({ client }) => void (await client.callTool({ name: 'toggle-subscriber-updates', arguments: {} }))],
  ['resources/unsubscribe (x2)', async ({ client, t, step }) => {
    for (const uri of [SUBSCRIBED_QUIET, SUBSCRIBED_LOUD]) {
      await client.unsubscribeResource({ uri });
      await t.waitFor(logSays(new RegExp(`^Received Unsubscribe Resource request: ${escape(uri)}`)), `the unsubscribe log message for ${uri}`, { from: step.start });
    }
  }],
  ['tools/call toggle-simulated-logging on (+a log message)', async ({ client, t, step }) => {
    await client.callTool({ name: 'toggle-simulated-logging', arguments: {} });
    await t.waitFor(logSays(RANDOM_LOG), 'a simulated log message', { from: step.start });
  }],
  ['tools/call toggle-simulated-logging off', async ({ client }) => void (await client.callTool({ name: 'toggle-simulated-logging', arguments: {} }))],
  ['tools/call trigger-long-running-operation (progress)', async ({ client, step }) => {
    const seen: unknown[] = [];
    await client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 1.2, steps: 3 } }, CallToolResultSchema, { onprogress: (p) => void seen.push(p) });
    step.observed.progress = seen;
  }],
  ['notifications/cancelled (long-running tool)', async ({ client, t, step, run }) => {
    const controller = new AbortController();
    let progressed!: () => void;
    const firstProgress = new Promise<void>((resolve) => (progressed = resolve));
    const call = client.callTool({ name: 'trigger-long-running-operation', arguments: CANCELLED_RUN }, CallToolResultSchema, { signal: controller.signal, onprogress: () => progressed() });
    const outcome = call.then(() => 'resolved', (e: Error) => `rejected: ${e.message}`);
    await Promise.race([firstProgress, outcome.then((o) => Promise.reject(new Error(`the call ended before any progress: ${o}`)))]);
    controller.abort(CANCEL_REASON);
    step.observed.outcome = await outcome;
    const cancel = await t.waitFor((e) => e.dir === 'out' && e.message.method === 'notifications/cancelled', 'notifications/cancelled', { from: step.start });
    step.cancelIndex = t.wire.indexOf(cancel);
    step.cancelled.push(cancel.message.params!.requestId as string | number);
    run.cancelledAt = Date.now();
    await client.ping(); // the session goes on
  }],
  ['tools/call trigger-sampling-request (sampling/createMessage)', async ({ client }) => void (await client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'Say something nice about proxies', maxTokens: 40 } }))],
  ['tools/call trigger-elicitation-request (elicitation/create form)', async ({ client }) => void (await client.callTool({ name: 'trigger-elicitation-request', arguments: {} }))],
  ['tools/call trigger-url-elicitation (elicitation/create url)', async ({ client }) => void (await client.callTool({ name: 'trigger-url-elicitation', arguments: { url: 'https://example.com/everything-tour', elicitationId: 'everything-tour-1' } }))],
  ['tools/call trigger-url-elicitation errorPath (-32042)', async ({ client, step }) => {
    const err = await client.callTool({ name: 'trigger-url-elicitation', arguments: { url: 'https://example.com/everything-tour-error', errorPath: true } }).then(() => undefined, (e: unknown) => e);
    step.observed.urlElicitationRequired = err instanceof UrlElicitationRequiredError;
  }],
  ['tools/call get-roots-list', async ({ client }) => void (await client.callTool({ name: 'get-roots-list', arguments: {} }))],
  ['notifications/roots/list_changed (+roots/list)', async ({ client, t, step, roots }) => {
    roots.current = ROOTS_AFTER;
    await client.sendRootsListChanged();
    await t.waitFor(isRequestIn('roots/list'), 'roots/list after roots/list_changed', { from: step.start });
    await t.waitFor(logSays(/^Roots updated: 2 root/), 'the "Roots updated: 2" log message', { from: step.start });
  }],
  ['tools/call get-roots-list (after the change)', async ({ client }) => void (await client.callTool({ name: 'get-roots-list', arguments: {} }))],
  ['tools/call simulate-research-query (task)', async ({ client, step, volatile }) => {
    const created = await client.request(
      { method: 'tools/call', params: { name: 'simulate-research-query', arguments: { topic: 'python', ambiguous: true }, task: { ttl: 60_000 } } },
      CreateTaskResultSchema,
    );
    volatile.serverTaskIds.add(created.task.taskId);
    step.observed.taskId = created.task.taskId;
  }],
  ['tasks/result (+elicitation/create via the task queue)', async ({ client, run }) => {
    const taskId = [...run.volatile.serverTaskIds][0]!;
    await client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema);
  }],
  ['tasks/get', async ({ client, run }) => void (await client.experimental.tasks.getTask([...run.volatile.serverTaskIds][0]!))],
  ['tasks/list', async ({ client }) => void (await client.experimental.tasks.listTasks())],
  ['tools/call trigger-sampling-request-async (client task)', async ({ client }) => void (await client.callTool({ name: 'trigger-sampling-request-async', arguments: { prompt: 'Summarise the tour', maxTokens: 30 } }, CallToolResultSchema, { timeout: 30_000 }))],
  ['tools/call trigger-elicitation-request-async (client task)', async ({ client }) => void (await client.callTool({ name: 'trigger-elicitation-request-async', arguments: {} }, CallToolResultSchema, { timeout: 30_000 }))],
  ['ping (last)', async ({ client }) => void (await client.ping())],
];

const RANDOM_LOG = /^(Debug|Info|Notice|Warning|Error|Critical|Alert|Emergency)[- ]level[- ]message/;

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Runs the whole tour on a fresh client; does not close it. */
export async function runTour(o: TourOptions & { roots: { current: Array<{ uri: string; name: string }> }; volatile: Volatile }): Promise<TourRun> {
  const run: TourRun = { side: o.side, wire: o.transport.wire, steps: [], volatile: o.volatile, errors: [], startedAt: Date.now() };
  o.client.onerror = (e) => void run.errors.push(e.message);
  for (const [name, body] of STEPS) {
    const step: Step = { name, start: o.transport.wire.length, end: 0, cancelled: [], observed: {} };
    run.steps.push(step);
    const started = Date.now();
    try {
      await body({ client: o.client, t: o.transport, step, roots: o.roots, volatile: o.volatile, run });
    } catch (err) {
      throw new Error(`${o.side}: step "${name}" failed: ${(err as Error).message}`, { cause: err });
    }
    step.end = o.transport.wire.length;
    if (!o.volatile.sessionId) o.volatile.sessionId = o.sessionId();
    o.log?.(`${o.side}: ${name} (${Date.now() - started} ms)`);
    o.afterStep?.(name);
  }
  return run;
}

// ── comparing ──────────────────────────────────────────────────────────────────────────────────

/** One step's messages, raw and normalized. */
export interface StepView {
  name: string;
  raw: string[];
  normalized: string[];
  /** Which normalization rules changed something. */
  rules: Set<string>;
  summary: string;
  bytes: number;
}

/**
 * The fields that legitimately differ between two sessions of the same server, and only those:
 *  - session id: server-everything writes its Mcp-Session-Id (a random UUID per session) into the
 *    text of the toggle-* tool results and of its log messages;
 *  - task ids and task timestamps: tasks (SEP-1686) get random UUIDs and createdAt/lastUpdatedAt
 *    wall-clock times, from the server's task store (simulate-research-query) and from the client's
 *    own store (the *-async tools); the ids also appear in the texts and _meta that mention them;
 *  - resource time: dynamic text/blob resources say "created at <time of day>" (the blob in base64);
 *  - random log level: toggle-simulated-logging picks each message's level with Math.random();
 *  - URL-elicitation id: the -32042 error's prerequisite elicitation carries a fresh randomUUID().
 */
export function normalize(text: string, v: Volatile, rules: Set<string>): string {
  let s = text;
  const replaceAll = (needle: string | undefined, placeholder: string, rule: string) => {
    if (needle && s.includes(needle)) {
      s = s.split(needle).join(placeholder);
      rules.add(rule);
    }
  };
  replaceAll(v.sessionId, '<session-id>', 'session id');
  for (const id of v.serverTaskIds) replaceAll(id, '<server-task-id>', 'task ids+times');
  for (const id of v.clientTaskIds) replaceAll(id, '<client-task-id>', 'task ids+times');
  const message = JSON.parse(s) as JsonRpc;
  walk(message, rules);
  if (message.method === 'notifications/message' && typeof message.params?.data === 'string' && RANDOM_LOG.test(message.params.data)) {
    message.params.level = '<random>';
    message.params.data = message.params.data.replace(RANDOM_LOG, '<Random>-level message');
    rules.add('random log level');
  }
  const elicitations = (message.error?.data as { elicitations?: Array<{ elicitationId?: string }> } | undefined)?.elicitations;
  for (const e of elicitations ?? []) {
    if (e.elicitationId) {
      e.elicitationId = '<random-uuid>';
      rules.add('url-elicitation id');
    }
  }
  return JSON.stringify(message);
}

const CREATED_AT = /created at \d{1,2}:\d{2}:\d{2}(?:[\s\u202f](?:AM|PM))?/g;

function walk(value: unknown, rules: Set<string>): void {
  if (Array.isArray(value)) {
    for (const item of value) walk(item, rules);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const o = value as Record<string, unknown>;
  for (const [key, v] of Object.entries(o)) {
    if ((key === 'createdAt' || key === 'lastUpdatedAt') && typeof v === 'string') {
      o[key] = '<timestamp>';
      rules.add('task ids+times');
    } else if (key === 'text' && typeof v === 'string' && v.replace(CREATED_AT, 'created at <time>') !== v) {
      o[key] = v.replace(CREATED_AT, 'created at <time>');
      rules.add('resource time');
    } else if (key === 'blob' && typeof v === 'string') {
      const decoded = Buffer.from(v, 'base64').toString('utf8');
      if (/^Resource \d+: This is a base64 blob created at /.test(decoded)) {
        o[key] = `<base64:${decoded.replace(CREATED_AT, 'created at <time>')}>`;
        rules.add('resource time');
      }
    } else {
      walk(v, rules);
    }
  }
}

/** The messages of one step: responses to its requests, server requests and answers, its progress. */
export function viewOf(run: TourRun, step: Step): StepView {
  const slice = run.wire.slice(step.start, step.end);
  const requestIds = slice.filter((e) => e.dir === 'out' && e.message.method !== undefined && e.message.id !== undefined).map((e) => e.message.id!);
  const serverRequestIds = new Set(slice.filter((e) => e.dir === 'in' && e.message.method !== undefined && e.message.id !== undefined).map((e) => e.message.id!));
  const picked: WireEntry[] = [];
  for (let i = step.start; i < step.end; i++) {
    const e = run.wire[i]!;
    const m = e.message;
    const isResponse = m.method === undefined && m.id !== undefined;
    if (e.dir === 'in' && isResponse && requestIds.includes(m.id!)) picked.push(e); // the server's answers
    else if (e.dir === 'in' && m.method !== undefined && m.id !== undefined) picked.push(e); // server → client requests
    else if (e.dir === 'out' && isResponse && serverRequestIds.has(m.id!)) picked.push(e); // the client's answers
    else if (e.dir === 'in' && m.method === 'notifications/progress' && requestIds.includes(m.params?.progressToken as string | number)) {
      // After a cancellation only the proxy stops reading the request's stream: later progress is not compared.
      if (step.cancelIndex === undefined || i < step.cancelIndex) picked.push(e);
    }
  }
  const rules = new Set<string>();
  const raw = picked.map((e) => `${e.dir} ${bytesOf(e)}`);
  const normalized = picked.map((e) => `${e.dir} ${normalize(bytesOf(e), run.volatile, rules)}`);
  const responses = picked.filter((e) => e.dir === 'in' && e.message.method === undefined);
  return { name: step.name, raw, normalized, rules, summary: summarize(responses, picked), bytes: picked.reduce((n, e) => n + Buffer.byteLength(bytesOf(e)), 0) };
}

/** The message as it travelled: the received text, or what the client sent. */
function bytesOf(e: WireEntry): string {
  if (e.dir === 'in' && e.raw === undefined) throw new Error(`no raw text for a received message: ${e.text.slice(0, 200)}`);
  return e.dir === 'in' ? e.raw! : e.text;
}

/** A few words on what came back, for the table. */
function summarize(responses: WireEntry[], picked: WireEntry[]): string {
  const parts: string[] = [];
  for (const e of responses) {
    const { result, error } = e.message;
    if (error) parts.push(`error ${error.code}`);
    else if (result) parts.push(describeResult(result));
  }
  if (responses.length === 0) parts.push('no response');
  const serverRequests = picked.filter((e) => e.dir === 'in' && e.message.method !== undefined && e.message.id !== undefined && e.message.method !== 'notifications/progress');
  if (serverRequests.length) parts.push(`⇠ ${serverRequests.map((e) => e.message.method).join(', ')}`);
  const progress = picked.filter((e) => e.message.method === 'notifications/progress').length;
  if (progress) parts.push(`${progress} progress`);
  return parts.join('; ');
}

function describeResult(r: Record<string, unknown>): string {
  for (const key of ['tools', 'prompts', 'resources', 'resourceTemplates', 'tasks'] as const) {
    if (Array.isArray(r[key])) return `${(r[key] as unknown[]).length} ${key}`;
  }
  if (Array.isArray(r.content)) return `content: ${(r.content as Array<{ type: string }>).map((c) => c.type).join(',')}${r.structuredContent ? ' +structured' : ''}${r.isError ? ' (isError)' : ''}`;
  if (Array.isArray(r.contents)) return `contents: ${(r.contents as Array<Record<string, unknown>>).map((c) => ('blob' in c ? 'blob' : 'text')).join(',')}`;
  if (Array.isArray(r.messages)) return `${(r.messages as unknown[]).length} messages`;
  if (r.completion) return `values: ${((r.completion as { values: string[] }).values).join(',') || '(none)'}`;
  if (r.task) return `task ${(r.task as { status: string }).status}`;
  if (typeof r.status === 'string') return `task ${r.status}`;
  if (r.protocolVersion) return `protocol ${String(r.protocolVersion)}`;
  return Object.keys(r).length === 0 ? '{}' : `{${Object.keys(r).join(',')}}`;
}

/** Notifications not tied to a request (everything but progress), normalized, as a sorted set. */
export function backgroundNotifications(run: TourRun): string[] {
  const rules = new Set<string>();
  const set = new Set<string>();
  for (const e of run.wire) {
    if (e.dir === 'in' && e.message.method !== undefined && e.message.id === undefined && e.message.method !== 'notifications/progress') {
      set.add(normalize(bytesOf(e), run.volatile, rules));
    }
  }
  return [...set].sort();
}

/** Everything the client sent, normalized, in order. */
export function clientMessages(run: TourRun): string[] {
  const rules = new Set<string>();
  return run.wire.filter((e) => e.dir === 'out').map((e) => normalize(e.text, run.volatile, rules));
}
