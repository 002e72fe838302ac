// `npm run demo`: the whole product against the local cloud, as a new user would see it.
// 1. start the local cloud (a real OAuth 2.1 AS and a real MCP server on 127.0.0.1)
// 2. `appwrite-mcp login` — your browser opens; sign in with the user printed below
//    (no display, or --headless: headless Chromium signs in for you)
// 3. `appwrite-mcp status`
// 4. an MCP client session through the proxy, the way Claude Desktop or Cursor would run it
// 5. `appwrite-mcp logout`
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { startCloud } from './cloud/index.js';
import { BIN } from './helpers/cli.js';
import { browserSeam, completeSignIn, launchChromium } from './helpers/browser.js';

const headless = process.argv.includes('--headless') || Boolean(process.env.CI) ||
  (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY);
const say = (text: string) => process.stdout.write(`\n\x1b[1m▶ ${text}\x1b[0m\n`);

const cloud = await startCloud();
const configDir = mkdtempSync(join(tmpdir(), 'appwrite-mcp-demo-'));
const seam = headless ? browserSeam() : undefined;
const env: NodeJS.ProcessEnv = { ...process.env, APPWRITE_MCP_CONFIG_DIR: configDir, ...seam?.env };

function cli(args: string[]): Promise<number | null> {
  process.stdout.write(`$ appwrite-mcp ${args.join(' ')}\n`);
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: 'inherit' });
  return new Promise((resolve) => child.on('close', resolve));
}

let failed = false;
try {
  say('Local cloud is up');
  process.stdout.write(`  MCP server:           ${cloud.mcpUrl}\n  authorization server: ${cloud.issuer}\n  sign in as:           ${cloud.user.login} / ${cloud.user.password}\n`);

  say('Sign in (browser)');
  const login = cli(['login', '--url', cloud.mcpUrl]);
  if (seam) {
    const browser = await launchChromium();
    try {
      const url = await seam.nextUrl({ timeoutMs: 30_000 });
      process.stdout.write(`  (no display: headless Chromium signs in as ${cloud.user.login})\n`);
      await completeSignIn(browser, url, cloud.user);
    } finally {
      await browser.close();
    }
  }
  if ((await login) !== 0) throw new Error('login failed');

  say('Status');
  await cli(['status', '--url', cloud.mcpUrl]);

  say('An MCP client session through the proxy (what your MCP client runs)');
  const transport = new StdioClientTransport({ command: process.execPath, args: [BIN, '--url', cloud.mcpUrl], env: env as Record<string, string>, stderr: 'inherit' });
  const client = new Client({ name: 'demo-client', version: '1.0.0' });
  await client.connect(transport);
  const { tools } = await client.listTools();
  process.stdout.write(`  tools: ${tools.map((t) => t.name).join(', ')}\n`);
  const who = await client.callTool({ name: 'whoami', arguments: {} });
  process.stdout.write(`  whoami → ${(who.content as Array<{ text: string }>)[0]?.text}\n`);
  const echo = await client.callTool({ name: 'echo', arguments: { text: 'hello from appwrite-mcp' } });
  process.stdout.write(`  echo → ${(echo.content as Array<{ text: string }>)[0]?.text}\n`);
  await client.close();

  say('Sign out');
  await cli(['logout', '--url', cloud.mcpUrl]);
  say('Done: that is the whole flow. Point your MCP client at `npx -y appwrite-mcp` to use it for real.');
} catch (err) {
  failed = true;
  process.stderr.write(`demo failed: ${(err as Error).message}\n`);
} finally {
  seam?.cleanup();
  await cloud.stop();
  rmSync(configDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
