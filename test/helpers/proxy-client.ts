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

/** Runs the CLI as another user (`uid`), when the tests run as root: for tests of file permissions. */
export interface RunAs {
  uid?: number;
}

export function proxyTransport(args: string[], env: NodeJS.ProcessEnv, runAs: RunAs = {}): { transport: StdioClientTransport; stderr(): string } {
  const asOther = runAs.uid !== undefined && runAs.uid !== process.getuid?.();
  const transport = new StdioClientTransport({
    command: asOther ? 'setpriv' : process.execPath,
    args: asOther ? [`--reuid=${runAs.uid}`, `--regid=${runAs.uid}`, '--clear-groups', process.execPath, BIN, ...args] : [BIN, ...args],
    env: { ...baseEnv(), ...env } as Record<string, string>,
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d) => (stderr += d));
  return { transport, stderr: () => stderr };
}

export async function connectProxy(args: string[], env: NodeJS.ProcessEnv, opts: { capabilities?: Record<string, unknown>; setup?(client: Client): void; timeoutMs?: number; runAs?: RunAs } = {}): Promise<ProxyClient> {
  const { transport, stderr } = proxyTransport(args, env, opts.runAs);
  const client = new Client({ name: 'test-client', version: '1.0.0' }, { capabilities: opts.capabilities ?? {} });
  opts.setup?.(client);
  await client.connect(transport, { timeout: opts.timeoutMs ?? 55_000 });
  return { client, transport, stderr, close: () => client.close() };
}

export function textOf(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content.map((c) => c.text ?? '').join('');
}
