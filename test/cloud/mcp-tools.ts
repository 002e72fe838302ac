// The MCP server behind both layouts: the same tools, one resource, one prompt.
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { AccessTokenClaims } from './bearer.js';

const text = (value: string, isError = false): CallToolResult => ({ content: [{ type: 'text', text: value }], isError });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createMcpServer(): McpServer {
  const server = new McpServer(
    { name: 'appwrite-cloud-stand-in', version: '1.0.0' },
    { capabilities: { logging: {} } },
  );

  server.registerTool('echo', {
    description: 'Returns the text unchanged.',
    annotations: { readOnlyHint: true },
    inputSchema: { text: z.string() },
  }, async ({ text: value }) => text(value));

  server.registerTool('whoami', {
    description: 'Describes the access token this request was made with.',
    annotations: { readOnlyHint: true },
  }, async (extra) => {
    const claims = (extra.authInfo as AuthInfo).extra?.claims as AccessTokenClaims;
    const { sub, scope, aud, client_id, exp } = claims;
    return text(JSON.stringify({ sub, scope, aud, client_id, exp }));
  });

  // The HTTP layer answers 403 insufficient_scope before this runs when the token lacks mcp:admin.
  server.registerTool('admin_action', {
    description: 'An administrative action; needs the mcp:admin scope.',
  }, async () => text('admin ok'));

  server.registerTool('slow', {
    description: 'Takes a while: reports progress (when asked for) and logs, then returns.',
    inputSchema: { steps: z.number().int().min(0).max(1000), delayMs: z.number().int().min(0).max(10_000).optional() },
  }, async ({ steps, delayMs = 50 }, extra) => {
    const progressToken = extra._meta?.progressToken;
    for (let step = 1; step <= steps; step++) {
      await sleep(delayMs);
      if (extra.signal.aborted) return text('cancelled', true);
      if (progressToken !== undefined) {
        await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: step, total: steps } });
      }
    }
    await extra.sendNotification({ method: 'notifications/message', params: { level: 'info', logger: 'slow', data: `finished ${steps} steps` } });
    return text(`done after ${steps} steps`);
  });

  server.registerTool('ask_user', {
    description: 'Asks the user a question through the client (elicitation, else sampling); needs a session.',
    inputSchema: { question: z.string().optional() },
  }, async ({ question = 'What is your name?' }, extra) => {
    // A server-to-client request needs a session: the answer comes back in a separate POST.
    if (!extra.sessionId) return text('ask_user needs a stateful session (use a per-project endpoint)', true);
    const capabilities = server.server.getClientCapabilities();
    const options = { relatedRequestId: extra.requestId };
    if (capabilities?.elicitation) {
      const result = await server.server.elicitInput({
        message: question,
        requestedSchema: { type: 'object', properties: { answer: { type: 'string', title: question } }, required: ['answer'] },
      }, options);
      return text(JSON.stringify({ action: result.action, content: result.content }));
    }
    if (capabilities?.sampling) {
      const result = await server.server.createMessage({
        messages: [{ role: 'user', content: { type: 'text', text: question } }],
        maxTokens: 200,
      }, options);
      return text(JSON.stringify({ sampled: result.content.type === 'text' ? result.content.text : result.content }));
    }
    return text('the client supports neither elicitation nor sampling', true);
  });

  server.registerResource('readme', 'appwrite://docs/readme', {
    title: 'About this server',
    mimeType: 'text/markdown',
  }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'text/markdown', text: '# Appwrite MCP (local stand-in)\n\nTools: echo, whoami, admin_action, slow, ask_user.\n' }],
  }));

  server.registerPrompt('greeting', {
    description: 'Greets someone by name.',
    argsSchema: { name: z.string() },
  }, ({ name }) => ({
    messages: [{ role: 'user', content: { type: 'text', text: `Say hello to ${name}.` } }],
  }));

  return server;
}
