// `npm run demo`: the whole product against the local cloud, as a new user would see it.
// 1. start the local cloud (a real OAuth 2.1 AS and a real MCP server on 127.0.0.1)
// 2. `appwrite-mcp login` — your browser opens; sign in with the user printed below
//    (no display, or --headless: headless Chromium signs in for you)
// 3. `appwrite-mcp status`
// 4. an MCP client session through the proxy, the way Claude Desktop or Cursor would run it
// 5. `appwrite-mcp logout`
//
// The demo never touches your own keychain. `npm run demo` runs it inside test/with-keyring.mjs: a
// private D-Bus session with its own gnome-keyring in a temp dir, the Secret Service the tests use,
// so the demo shows the keychain path for real. Where gnome-keyring or dbus-run-session is missing
// (macOS, Windows, a bare container) the secrets go to a 0600 file in the demo's temp config dir.
// Either way everything is deleted at the end.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { startCloud } from './cloud/index.js';
import { BIN, writeScript } from './helpers/cli.js';
import { browserSeam, completeSignIn, launchChromium } from './helpers/browser.js';

const headless = process.argv.includes('--headless') || Boolean(process.env.CI) ||
  (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY);
const say = (text: string) => process.stdout.write(`\n\x1b[1m▶ ${text}\x1b[0m\n`);

const cloud = await startCloud();
const configDir = mkdtempSync(join(tmpdir(), 'appwrite-mcp-demo-'));
const seam = headless ? browserSeam() : undefined;
const privateKeyring = process.env.APPWRITE_MCP_TEST_IN_DBUS === '1' && Boolean(process.env.DBUS_SESSION_BUS_ADDRESS);
const env: NodeJS.ProcessEnv = { ...process.env, APPWRITE_MCP_CONFIG_DIR: configDir };
delete env.APPWRITE_MCP_TOKEN;
delete env.APPWRITE_MCP_URL;
if (!privateKeyring) env.APPWRITE_MCP_STORE = 'file';
else delete env.APPWRITE_MCP_STORE;
if (seam) {
  delete env.APPWRITE_MCP_BROWSER; // it would win over the seam's BROWSER
  Object.assign(env, seam.env);
} else if (privateKeyring && process.platform === 'linux') {
  // The CLI runs on the private session bus; the browser it opens belongs to the desktop (a running
  // Firefox, say, is reached over D-Bus, the default browser found under XDG_DATA_HOME), so the
  // opener gets the environment from outside the private session back.
  const outer = JSON.parse(process.env.APPWRITE_MCP_OUTER_ENV ?? '{}') as Record<string, string | null>;
  const opener = process.env.APPWRITE_MCP_BROWSER || process.env.BROWSER || 'xdg-open';
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  env.APPWRITE_MCP_BROWSER = writeScript(configDir, 'open-browser.sh', [
    '#!/bin/sh',
    ...Object.entries(outer).map(([name, value]) => (value === null ? `unset ${name}` : `${name}=${quote(value)}; export ${name}`)),
    'unset APPWRITE_MCP_TEST_IN_DBUS APPWRITE_MCP_OUTER_ENV',
    `exec ${quote(opener)} "$1"`,
    '',
  ].join('\n'));
}

const children = new Set<ChildProcess>();
function cli(args: string[]): Promise<number | null> {
  process.stdout.write(`$ appwrite-mcp ${args.join(' ')}\n`);
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: 'inherit' });
  children.add(child);
  return new Promise((resolve) => child.on('close', (code) => {
    children.delete(child);
    resolve(code);
  }));
}

// Ctrl-C (while the browser sign-in waits, say) stops everything and still leaves nothing behind.
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\ndemo ${signal === 'SIGINT' ? 'interrupted' : `stopped (${signal})`}: cleaning up\n`);
    for (const child of children) child.kill('SIGTERM');
    seam?.cleanup();
    void cloud.stop().finally(() => {
      rmSync(configDir, { recursive: true, force: true });
      process.exit(130);
    });
  });
}

let failed = false;
try {
  say('Local cloud is up');
  process.stdout.write(`  MCP server:           ${cloud.mcpUrl}\n  authorization server: ${cloud.issuer}\n  sign in as:           ${cloud.user.login} / ${cloud.user.password}\n`);
  process.stdout.write(privateKeyring
    ? '  secrets:              a private keyring (gnome-keyring in its own D-Bus session), deleted at the end; your keychain is not used\n'
    : '  secrets:              a 0600 file in a temp folder, deleted at the end (no gnome-keyring + dbus-run-session here for a private keyring); your keychain is not used\n');

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
  process.stdout.write(`  (until the package is on npm, from this checkout: "command": "node", "args": ["${BIN}"]; see the README)\n`);
} catch (err) {
  failed = true;
  process.stderr.write(`demo failed: ${(err as Error).message}\n`);
} finally {
  seam?.cleanup();
  await cloud.stop();
  rmSync(configDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
