// A real MCP client (the SDK's Client over StdioClientTransport) spawning the built CLI, the way
// Claude Desktop or Cursor run it.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { BIN, baseEnv } from './cli.js';

export interface ProxyClient {
  client: Client;
  transport: StdioClientTransport;
  stderr(): string;
  close(): Promise<void>;
}

export function proxyTransport(args: string[], env: NodeJS.ProcessEnv): { transport: StdioClientTransport; stderr(): string } {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, ...args],
    env: { ...baseEnv(), ...env } as Record<string, string>,
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d) => (stderr += d));
  return { transport, stderr: () => stderr };
}

export async function connectProxy(args: string[], env: NodeJS.ProcessEnv, opts: { capabilities?: Record<string, unknown>; setup?(client: Client): void; timeoutMs?: number } = {}): Promise<ProxyClient> {
  const { transport, stderr } = proxyTransport(args, env);
  const client = new Client({ name: 'test-client', version: '1.0.0' }, { capabilities: opts.capabilities ?? {} });
  opts.setup?.(client);
  await client.connect(transport, { timeout: opts.timeoutMs ?? 55_000 });
  return { client, transport, stderr, close: () => client.close() };
}

export function textOf(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content.map((c) => c.text ?? '').join('');
}
