// The MCP server behind the SDK v2 endpoints (modern-only and dual-era): the tools, resource and
// prompt of mcp-tools.ts, written once in the 2026-07-28 style. The SDK serves the same handlers to
// both eras: on a 2026-07-28 request `inputRequired(...)` goes back to the client as an
// `input_required` result (the client retries with the answers); on a 2025 session the SDK's legacy
// shim turns it into a real elicitation/sampling/roots request on the POST's SSE stream.
import { randomBytes } from 'node:crypto';
import {
  CLIENT_CAPABILITIES_META_KEY,
  createRequestStateCodec,
  inputRequired,
  inputResponse,
  McpServer,
  type CallToolResult,
  type ClientCapabilities,
  type InputRequiredResult,
  type McpRequestContext,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { AccessTokenClaims } from './bearer.js';

/** Which endpoint an instance serves, and a record of how `slow` runs ended (for cancellation tests). */
export interface V2ServerOptions {
  server: 'modern' | 'dual';
  onSlowRun?: (run: SlowRun) => void;
}

export interface SlowRun {
  server: 'modern' | 'dual';
  era: 'modern' | 'legacy';
  outcome: 'done' | 'cancelled';
  /** Steps completed before it ended. */
  steps: number;
}

const text = (value: string, isError = false): CallToolResult => ({ content: [{ type: 'text', text: value }], isError });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Seals ask_user's round state (requestState round-trips through the client: untrusted input). */
const askState = createRequestStateCodec<{ question: string; via: 'elicitation' | 'sampling' }>({
  key: randomBytes(32),
  ttlSeconds: 600,
});

const README = '# Appwrite MCP (local stand-in, SDK v2)\n\nTools: echo, whoami, admin_action, slow, ask_user, list_roots, regional_echo.\n';

export function createMcpServerV2(options: V2ServerOptions, request: McpRequestContext): McpServer {
  const label = options.server === 'modern' ? 'modern-only (2026-07-28)' : 'dual-era (2025 sessions and 2026-07-28)';
  const server = new McpServer(
    { name: 'appwrite-cloud-stand-in', version: '2.0.0' },
    {
      capabilities: { logging: {} },
      instructions: `Local stand-in for Appwrite's hosted MCP server, ${label}.`,
      requestState: { verify: askState.verify },
    },
  );
  /** The caller's capabilities: from the request's `_meta` envelope (2026-07-28) or the session's initialize (2025). */
  const clientCapabilities = (ctx: ServerContext): ClientCapabilities | undefined => {
    // RequestMetaEnvelope is published as `{}`: read the key the SDK lifted out of `_meta` by name.
    const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
    return (envelope?.[CLIENT_CAPABILITIES_META_KEY] as ClientCapabilities | undefined) ?? server.server.getClientCapabilities();
  };

  server.registerTool('echo', {
    description: 'Returns the text unchanged.',
    annotations: { readOnlyHint: true },
    inputSchema: z.object({ text: z.string() }),
  }, async ({ text: value }) => text(value));

  server.registerTool('whoami', {
    description: 'Describes the access token this request was made with.',
    annotations: { readOnlyHint: true },
  }, async (ctx) => {
    const claims = ctx.http?.authInfo?.extra?.claims as AccessTokenClaims;
    const { sub, scope, aud, client_id, exp } = claims;
    return text(JSON.stringify({ sub, scope, aud, client_id, exp }));
  });

  // The HTTP layer answers 403 insufficient_scope before this runs when the token lacks mcp:admin.
  server.registerTool('admin_action', {
    description: 'An administrative action; needs the mcp:admin scope.',
  }, async () => text('admin ok'));

  server.registerTool('slow', {
    description: 'Takes a while: reports progress (when asked for) and logs (2026-07-28: when the request names a logLevel), then returns.',
    inputSchema: z.object({ steps: z.number().int().min(0).max(1000), delayMs: z.number().int().min(0).max(10_000).optional() }),
  }, async ({ steps, delayMs = 50 }, ctx) => {
    const progressToken = ctx.mcpReq._meta?.progressToken;
    const report = (outcome: SlowRun['outcome'], done: number) =>
      options.onSlowRun?.({ server: options.server, era: request.era, outcome, steps: done });
    for (let step = 1; step <= steps; step++) {
      await sleep(delayMs);
      if (ctx.mcpReq.signal.aborted) {
        report('cancelled', step - 1);
        return text('cancelled', true);
      }
      if (progressToken !== undefined) {
        await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken, progress: step, total: steps } });
      }
    }
    await ctx.mcpReq.log('info', `finished ${steps} steps`, 'slow');
    report('done', steps);
    return text(`done after ${steps} steps`);
  });

  server.registerTool('ask_user', {
    description: 'Asks the user a question through the client (elicitation, else sampling).',
    inputSchema: z.object({ question: z.string().optional() }),
  }, async ({ question = 'What is your name?' }, ctx): Promise<CallToolResult | InputRequiredResult> => {
    const state = ctx.mcpReq.requestState<{ question: string; via: 'elicitation' | 'sampling' }>();
    if (state) {
      const answer = inputResponse(ctx.mcpReq.inputResponses, 'answer');
      if (answer.kind === 'elicit') return text(JSON.stringify({ action: answer.action, content: answer.content }));
      if (answer.kind === 'sampling') {
        const content = answer.result.content;
        return text(JSON.stringify({ sampled: !Array.isArray(content) && content.type === 'text' ? content.text : content }));
      }
      return text(`no answer came back for "${state.question}"`, true);
    }
    const capabilities = clientCapabilities(ctx);
    if (capabilities?.elicitation) {
      return inputRequired({
        inputRequests: {
          answer: inputRequired.elicit({
            message: question,
            requestedSchema: { type: 'object', properties: { answer: { type: 'string', title: question } }, required: ['answer'] },
          }),
        },
        requestState: await askState.mint({ question, via: 'elicitation' }),
      });
    }
    if (capabilities?.sampling) {
      return inputRequired({
        inputRequests: {
          answer: inputRequired.createMessage({ messages: [{ role: 'user', content: { type: 'text', text: question } }], maxTokens: 200 }),
        },
        requestState: await askState.mint({ question, via: 'sampling' }),
      });
    }
    return text('the client supports neither elicitation nor sampling', true);
  });

  server.registerTool('list_roots', {
    description: "Lists the client's roots (roots/list through the client).",
  }, async (ctx): Promise<CallToolResult | InputRequiredResult> => {
    const answer = inputResponse(ctx.mcpReq.inputResponses, 'roots');
    if (answer.kind === 'roots') return text(JSON.stringify(answer.roots));
    if (!clientCapabilities(ctx)?.roots) return text('the client does not support roots', true);
    return inputRequired({ inputRequests: { roots: inputRequired.listRoots() } });
  });

  // SEP-2243: `region` is mirrored into an `Mcp-Param-Region` header on 2026-07-28 requests, which
  // the server requires (400, -32020 without it).
  server.registerTool('regional_echo', {
    description: 'Returns "<region>: <text>"; region travels in the Mcp-Param-Region header too (2026-07-28).',
    inputSchema: z.object({ region: z.string().meta({ 'x-mcp-header': 'Region' }), text: z.string() }),
  }, async ({ region, text: value }) => text(`${region}: ${value}`));

  server.registerResource('readme', 'appwrite://docs/readme', {
    title: 'About this server',
    mimeType: 'text/markdown',
    cacheHint: { ttlMs: 60_000, cacheScope: 'public' }, // 2026-07-28 results carry ttlMs/cacheScope
  }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'text/markdown', text: README }],
  }));

  server.registerPrompt('greeting', {
    description: 'Greets someone by name.',
    argsSchema: z.object({ name: z.string() }),
  }, ({ name }) => ({
    messages: [{ role: 'user', content: { type: 'text', text: `Say hello to ${name}.` } }],
  }));

  return server;
}
