// One request of a 2025 client to a 2026-07-28 server, over as many rounds as the server needs
// (SEP-2322, multi-round requests): an `input_required` result becomes ordinary server→client
// requests on stdio (elicitation, sampling, roots), whose answers go back in the retry of the
// request — with a new JSON-RPC id, the server's `requestState` echoed exactly — and the final result
// answers the client's request under its own id. A call refused for a missing Mcp-Param-* header
// (-32020) is retried once after the tools' declarations are fetched.
import { randomUUID } from 'node:crypto';
import { AppError, Code } from '../../errors.js';
import { editNested, editObject, topLevel } from '../json-text.js';
import { notificationLine, type JsonRpcId, type JsonRpcMessage } from '../jsonrpc.js';
import { textOf } from '../message-bytes.js';
import type { Frame } from '../transports/transport.js';
import type { ClientPort, CodecContext } from './codec.js';
import { isParamHeaderMismatch, type ToolHeaders } from './headers.js';
import { MODERN_VERSION } from './modern.js';

/** As the SDK v2 client: at most this many input rounds for one request. */
const MAX_INPUT_ROUNDS = 10;
const ASK_PREFIX = 'appwrite-mcp-input-';
/** Members of a modern result a 2025 client has no use for. */
const MODERN_RESULT_MEMBERS = ['resultType', 'ttlMs', 'cacheScope'];

interface Flow {
  /** The id of the round in flight (the client's own, then one of ours per retry). */
  currentId: JsonRpcId;
  cancelled: boolean;
  /** Our requests to the client that this request waits on, and how to stop waiting. */
  asking: Map<string, (reason: Error) => void>;
}

export interface RoundsHost {
  ctx: CodecContext;
  port: ClientPort;
  tools: ToolHeaders;
  /** The request text with the client's envelope in `params._meta`. */
  modernBody(line: string): string;
  /** Fetches the tools' `x-mcp-header` declarations. */
  refreshTools(): Promise<void>;
}

export class Rounds {
  private readonly flows = new Map<JsonRpcId, Flow>();
  /** Our requests to the client (input for the server), by id: where the answer goes. */
  private readonly asked = new Map<string, (response: JsonRpcMessage) => void>();
  private askIds = 0;

  constructor(private readonly host: RoundsHost) {}

  async run(frame: Frame, m: JsonRpcMessage & { id: JsonRpcId; method: string }): Promise<void> {
    const flow: Flow = { currentId: m.id, cancelled: false, asking: new Map() };
    this.flows.set(m.id, flow);
    try {
      const line = textOf(frame.line);
      let body = this.host.modernBody(line);
      let rounds = 0;
      let refreshed = false;
      for (;;) {
        const answer = await this.post(body, m, flow);
        if (!answer || flow.cancelled) return;
        const result = answer.message.result as Record<string, unknown> | undefined;
        if (m.method === 'tools/call' && !refreshed && isParamHeaderMismatch(answer.message)) {
          refreshed = true;
          await this.host.refreshTools();
          continue;
        }
        if (result?.resultType === 'input_required') {
          if (++rounds > MAX_INPUT_ROUNDS) throw new AppError(Code.INPUT_FAILED, `The MCP server at ${this.host.ctx.host} asked for input ${MAX_INPUT_ROUNDS} times for one request; gave up.`);
          const responses = await this.ask(result.inputRequests, flow);
          if (flow.cancelled) return;
          flow.currentId = this.host.ctx.tracker.nextId('retry');
          body = this.host.modernBody(retryBody(line, flow.currentId, responses, result.requestState));
          continue;
        }
        return this.answer(textOf(answer.line), answer.message, m);
      }
    } finally {
      this.flows.delete(m.id);
    }
  }

  /** A client response to one of our requests: true when it was one. */
  answered(m: JsonRpcMessage): boolean {
    const done = typeof m.id === 'string' ? this.asked.get(m.id) : undefined;
    done?.(m);
    return done !== undefined;
  }

  cancel(id: JsonRpcId): void {
    const flow = this.flows.get(id);
    if (!flow) return;
    flow.cancelled = true;
    this.host.ctx.tracker.cancel(flow.currentId);
    for (const [askId, stop] of flow.asking) {
      this.host.port.deliver({ line: notificationLine('notifications/cancelled', { requestId: askId, reason: 'the request that needed this was cancelled' }), message: { jsonrpc: '2.0', method: 'notifications/cancelled' } });
      stop(new AppError(Code.CANCELLED, 'The request was cancelled.'));
    }
  }

  closeAll(): void {
    for (const id of [...this.flows.keys()]) this.cancel(id);
  }

  /** POSTs one round; resolves with its response (kept from the client), undefined when cancelled. */
  private async post(body: string, m: JsonRpcMessage, flow: Flow): Promise<Frame | undefined> {
    const id = flow.currentId;
    let answer: Frame | undefined;
    await this.host.ctx.upstream.send({ line: body, message: { jsonrpc: '2.0', id, method: m.method } }, {
      headers: this.host.tools.headersFor(m, MODERN_VERSION),
      onresponse: (f) => (f.message.id === id ? ((answer = f), true) : false),
    });
    return answer;
  }

  /** The final answer, as the 2025 client must see it: its own id, no modern members, no invalid tools. */
  private answer(line: string, message: JsonRpcMessage, request: JsonRpcMessage & { id: JsonRpcId }): void {
    const result = message.result as Record<string, unknown> | undefined;
    let out = line;
    if (request.method === 'tools/list' && result) {
      const kept = this.host.tools.learn(result);
      if (kept) out = editNested(out, ['result'], (text, start) => editObject(text, start, { set: { tools: JSON.stringify(kept) } }));
    }
    if (result && MODERN_RESULT_MEMBERS.some((k) => k in result)) out = editNested(out, ['result'], (text, start) => editObject(text, start, { remove: MODERN_RESULT_MEMBERS }));
    if (message.id !== request.id) out = editObject(out, topLevel(out), { set: { id: JSON.stringify(request.id) } });
    this.host.port.deliver({ line: out, message: { ...message, id: request.id } });
  }

  private async ask(inputRequests: unknown, flow: Flow): Promise<Record<string, unknown>> {
    const entries = Object.entries((inputRequests ?? {}) as Record<string, { method?: unknown; params?: unknown }>);
    const answers = await Promise.all(entries.map(async ([key, request]) => {
      const method = typeof request?.method === 'string' ? request.method : undefined;
      if (!method) throw new AppError(Code.INPUT_FAILED, `The MCP server at ${this.host.ctx.host} asked for input without saying what ("${key}").`);
      const askId = `${ASK_PREFIX}${++this.askIds}`;
      const response = await new Promise<JsonRpcMessage>((resolve, reject) => {
        this.asked.set(askId, resolve);
        flow.asking.set(askId, reject);
        const params = legacyInputParams(method, request.params);
        this.host.port.deliver({ line: JSON.stringify({ jsonrpc: '2.0', id: askId, method, params }), message: { jsonrpc: '2.0', id: askId, method, params } });
      }).finally(() => {
        this.asked.delete(askId);
        flow.asking.delete(askId);
      });
      if (response.error) throw new AppError(Code.INPUT_FAILED, `The server asked for ${method} and the client could not answer: ${response.error.message}`);
      return [key, response.result] as const;
    }));
    return Object.fromEntries(answers);
  }
}

/** The request again, under a new id, carrying this round's answers and the server's state (echoed exactly). */
function retryBody(line: string, id: string, responses: Record<string, unknown>, requestState: unknown): string {
  const set: Record<string, string> = { inputResponses: JSON.stringify(responses) };
  if (typeof requestState === 'string') set.requestState = JSON.stringify(requestState);
  const withId = editObject(line, topLevel(line), { set: { id: JSON.stringify(id) } });
  return editNested(withId, ['params'], (text, start) => editObject(text, start, { set, remove: typeof requestState === 'string' ? [] : ['requestState'] }));
}

/** An embedded input request's params as a 2025 client expects them. */
function legacyInputParams(method: string, params: unknown): unknown {
  if (method === 'elicitation/create' && (params as { mode?: unknown } | undefined)?.mode === 'url' && !(params as { elicitationId?: unknown }).elicitationId) {
    // 2025-11-25 correlates URL elicitations by id; 2026-07-28 does it with requestState.
    return { ...(params as object), elicitationId: randomUUID() };
  }
  return params;
}
