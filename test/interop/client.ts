// The client under test for the MCP conformance suite's client scenarios.
//
// The suite (@modelcontextprotocol/conformance `client --command "<cmd>" --scenario <name>`) starts
// a test server per scenario and runs `<cmd> <server URL>` through a shell, with the scenario's
// name in MCP_CONFORMANCE_SCENARIO and, for some scenarios, a JSON object of credentials in
// MCP_CONFORMANCE_CONTEXT. It judges the client by what reaches its servers (and by this process's
// exit code and whether it ends within --timeout).
//
// What this script is: a stand-in for a desktop MCP client. It spawns a stdio proxy (our built
// CLI, or mcp-remote for comparison) for the server URL, with an isolated temporary config dir, the
// file secret store, and BROWSER set to browser.mjs (which follows the suite's /authorize redirect
// back to the proxy's loopback callback), then connects the official SDK Client over stdio and does
// what the scenario expects of a client: initialize, tools/list, then tools/call of the scenario's
// tool. Everything the proxy prints on stderr is passed on, prefixed, to this process's stderr (the
// suite saves it as stderr.txt).
//
// Usage: node --import tsx test/interop/client.ts --target appwrite-mcp|mcp-remote <server URL>
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

/** The CIMD client_id the suite's auth/basic-cimd scenario expects (hard-coded in the suite, not passed as context). */
export const CIMD_CLIENT_METADATA_URL = 'https://conformance-test.local/client-metadata.json';

export type Target = 'appwrite-mcp' | 'mcp-remote';

/** Context the suite passes in MCP_CONFORMANCE_CONTEXT (see its src/schemas/context.ts). */
interface ConformanceContext {
  name: string;
  client_id?: string;
  client_secret?: string;
  private_key_pem?: string;
  signing_algorithm?: string;
  idp_client_id?: string;
  idp_id_token?: string;
  idp_issuer?: string;
  idp_token_endpoint?: string;
}

/** Whole-run bound, below the suite's --timeout, so that this script reports instead of being killed. */
const DEADLINE_MS = Number(process.env.CONFORMANCE_CLIENT_DEADLINE_MS) || 40_000;
const REQUEST_TIMEOUT_MS = 35_000;

/** What the tools of each scenario's server want as arguments. */
const TOOL_ARGUMENTS: Record<string, Record<string, unknown>> = {
  add_numbers: { a: 2, b: 3 },
};

interface ProxySetup {
  command: string;
  args: string[];
  env: Record<string, string>;
  /** Something to run before the proxy (e.g. a login with a pre-registered client id). */
  before?: { args: string[]; why: string };
  /** Context the proxy has no way to take. */
  unmapped: string[];
}

/**
 * Flags and variables that map the suite's context onto appwrite-mcp, by the names proposed in
 * /work/notes/conformance.md. None exists today; each is used as soon as `appwrite-mcp proxy --help`
 * (or `--help`) mentions it, so a build that adds one is tested with it without changing this file.
 */
const APPWRITE_MCP_CONTEXT_OPTIONS = {
  clientId: '--client-id',
  clientSecretEnv: 'APPWRITE_MCP_CLIENT_SECRET',
  clientMetadataUrl: '--client-metadata-url',
  clientCredentials: '--client-credentials',
  privateKeyFile: '--private-key-file',
  idpTokenEndpoint: '--idp-token-endpoint',
  idpClientId: '--idp-client-id',
  idpIdTokenEnv: 'APPWRITE_MCP_IDP_ID_TOKEN',
} as const;

/** `appwrite-mcp --help` (which lists the environment variables) and `appwrite-mcp proxy --help`. */
function proxyHelp(cli: string): string {
  return [['--help'], ['proxy', '--help']]
    .map((args) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 10_000 }))
    .map((r) => `${r.stdout ?? ''}${r.stderr ?? ''}`)
    .join('\n');
}

/**
 * How the scenario's context reaches each proxy: only through flags and variables that the proxy
 * has. Whatever cannot be passed is listed in `unmapped` (and printed), not worked around.
 */
function proxySetup(target: Target, url: string, scenario: string, ctx: ConformanceContext | undefined, env: Record<string, string>, work: string): ProxySetup {
  const unmapped: string[] = [];
  if (target === 'appwrite-mcp') {
    // CONFORMANCE_APPWRITE_MCP_BIN: another build of the CLI to test (conformance.ts --cli).
    const cli = process.env.CONFORMANCE_APPWRITE_MCP_BIN || join(root, 'bin', 'appwrite-mcp.js');
    const help = ctx || scenario === 'auth/basic-cimd' ? proxyHelp(cli) : '';
    const has = (option: string) => new RegExp(`(^|[\\s,])${option}\\b`).test(help);
    const o = APPWRITE_MCP_CONTEXT_OPTIONS;
    const args = [cli, '--url', url, '--debug'];
    let before: ProxySetup['before'];
    const proxyEnv = { ...env };
    if (ctx?.client_id) {
      if (has(o.clientId)) {
        args.push(o.clientId, ctx.client_id);
      } else if (scenario === 'auth/pre-registration') {
        // `login --client-id` is today's only way to give appwrite-mcp a pre-registered client.
        before = { args: [cli, 'login', '--url', url, '--client-id', ctx.client_id, '--timeout', '20', '--debug'], why: 'login --client-id (pre-registered client)' };
      } else {
        unmapped.push(`client_id (proxy has no ${o.clientId}; \`login --client-id\` is for the authorization-code flow only)`);
      }
    }
    if (ctx?.client_secret) {
      if (has(o.clientSecretEnv)) proxyEnv[o.clientSecretEnv] = ctx.client_secret;
      else unmapped.push(`client_secret (no ${o.clientSecretEnv} or other way to give a client secret)`);
    }
    if (scenario.startsWith('auth/client-credentials-')) {
      if (has(o.clientCredentials)) args.push(o.clientCredentials);
      else unmapped.push(`the client_credentials grant (no ${o.clientCredentials})`);
    }
    if (ctx?.private_key_pem) {
      if (has(o.privateKeyFile)) {
        const pem = join(work, 'client-key.pem');
        writeFileSync(pem, ctx.private_key_pem, { mode: 0o600 });
        args.push(o.privateKeyFile, pem);
      } else {
        unmapped.push(`private_key_pem / signing_algorithm (no ${o.privateKeyFile}: no private_key_jwt client authentication)`);
      }
    }
    if (ctx?.idp_id_token) {
      if (has(o.idpTokenEndpoint) && has(o.idpIdTokenEnv) && ctx.idp_token_endpoint && ctx.idp_client_id) {
        args.push(o.idpTokenEndpoint, ctx.idp_token_endpoint, o.idpClientId, ctx.idp_client_id);
        proxyEnv[o.idpIdTokenEnv] = ctx.idp_id_token;
      } else {
        unmapped.push('idp_id_token / idp_token_endpoint / idp_client_id / idp_issuer (no token exchange, no ID-JAG jwt-bearer grant)');
      }
    }
    if (scenario === 'auth/basic-cimd') {
      if (has(o.clientMetadataUrl)) args.push(o.clientMetadataUrl, CIMD_CLIENT_METADATA_URL);
      else unmapped.push(`the suite's CIMD URL ${CIMD_CLIENT_METADATA_URL} (no ${o.clientMetadataUrl})`);
    }
    return { command: process.execPath, args, env: proxyEnv, before, unmapped };
  }
  const args = [join(root, 'node_modules', 'mcp-remote', 'dist', 'proxy.js'), url];
  if (scenario === 'auth/pre-registration' && ctx?.client_id) {
    args.push('--static-oauth-client-info', JSON.stringify({ client_id: ctx.client_id, client_secret: ctx.client_secret }));
  } else if (scenario === 'auth/client-credentials-basic' && ctx?.client_id) {
    args.push('--client-credentials', '--static-oauth-client-info', JSON.stringify({ client_id: ctx.client_id, client_secret: ctx.client_secret }));
  } else {
    if (ctx?.client_id) unmapped.push('client_id / client_secret (no flag for this grant)');
    if (ctx?.private_key_pem) unmapped.push('private_key_pem (mcp-remote leaves private_key_jwt out)');
    if (ctx?.idp_id_token) unmapped.push('idp_* (no token exchange / ID-JAG support)');
  }
  if (scenario === 'auth/basic-cimd') args.push('--client-metadata-url', CIMD_CLIENT_METADATA_URL);
  return { command: process.execPath, args, env, unmapped };
}

function parseArgs(argv: string[]): { target: Target; url: string } {
  let target: Target = 'appwrite-mcp';
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--target') {
      const value = argv[++i];
      if (value !== 'appwrite-mcp' && value !== 'mcp-remote') throw new Error(`--target must be appwrite-mcp or mcp-remote, not ${value}`);
      target = value;
    } else {
      rest.push(argv[i]!);
    }
  }
  const url = rest.at(-1);
  if (!url) throw new Error('usage: client.ts [--target appwrite-mcp|mcp-remote] <server URL>');
  return { target, url };
}

function readContext(): ConformanceContext | undefined {
  const raw = process.env.MCP_CONFORMANCE_CONTEXT;
  return raw ? (JSON.parse(raw) as ConformanceContext) : undefined;
}

const say = (line: string) => process.stderr.write(`[client] ${line}\n`);

/** Copies a child's stderr to ours, each line prefixed. */
function relay(stream: NodeJS.ReadableStream | null, prefix: string): void {
  if (!stream) return;
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    let i;
    while ((i = buffered.indexOf('\n')) >= 0) {
      process.stderr.write(`${prefix} ${buffered.slice(0, i)}\n`);
      buffered = buffered.slice(i + 1);
    }
  });
  stream.on('end', () => {
    if (buffered) process.stderr.write(`${prefix} ${buffered}\n`);
  });
}

/** Runs a command to its end (bounded), relaying its stderr. */
function runToEnd(command: string, args: string[], env: Record<string, string>, timeoutMs: number, prefix: string): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    relay(child.stderr, prefix);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      say(`${prefix} could not start: ${err.message}`);
      resolve(null);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

function textOf(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join(' ');
}

async function main(): Promise<number> {
  const { target, url } = parseArgs(process.argv.slice(2));
  const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? '(unknown)';
  const context = readContext();
  const work = mkdtempSync(join(tmpdir(), 'appwrite-mcp-conformance-'));
  const browserLog = join(work, 'browser.log');
  const browser = join(work, 'browser');
  // BROWSER is one executable (appwrite-mcp spawns it without a shell): a wrapper that runs
  // browser.mjs on this same Node.
  writeFileSync(browser, `#!/bin/sh\nexec '${process.execPath}' '${join(here, 'browser.mjs')}' "$@"\n`);
  chmodSync(browser, 0o755);

  const env: Record<string, string> = {
    ...getDefaultEnvironment(),
    CI: 'true',
    BROWSER: browser,
    CONFORMANCE_BROWSER_LOG: browserLog,
    // appwrite-mcp
    APPWRITE_MCP_CONFIG_DIR: join(work, 'appwrite-mcp'),
    APPWRITE_MCP_STORE: 'file',
    // mcp-remote
    MCP_REMOTE_CONFIG_DIR: join(work, 'mcp-remote'),
  };
  const setup = proxySetup(target, url, scenario, context, env, work);
  say(`scenario ${scenario}, target ${target}, server ${url}`);
  if (context) say(`context keys: ${Object.keys(context).filter((k) => k !== 'name').join(', ')}`);
  for (const item of setup.unmapped) say(`context not passed to ${target}: ${item}`);

  const deadline = setTimeout(() => {
    say(`gave up after ${DEADLINE_MS} ms`);
    void shutdown(1);
  }, DEADLINE_MS);
  let transport: StdioClientTransport | undefined;
  let finished = false;
  const shutdown = async (code: number): Promise<number> => {
    if (finished) return code;
    finished = true;
    clearTimeout(deadline);
    try {
      await transport?.close();
    } catch {
      // already gone
    }
    if (existsSync(browserLog)) {
      for (const line of readFileSync(browserLog, 'utf8').split('\n').filter(Boolean)) say(`browser: ${line}`);
    } else {
      say('browser: never opened');
    }
    rmSync(work, { recursive: true, force: true });
    process.exit(code);
  };
  process.once('SIGTERM', () => void shutdown(1));
  process.once('SIGINT', () => void shutdown(1));

  try {
    if (setup.before) {
      say(`running ${setup.before.why}`);
      const code = await runToEnd(setup.command, setup.before.args, setup.env, 25_000, `[${target} login]`);
      say(`${setup.before.why} exited with ${code}`);
    }

    const client = new Client(
      { name: 'appwrite-mcp-conformance-client', version: '1.0.0' },
      // SEP-1034: let the SDK fill in the defaults of an elicitation form the user accepted as is.
      { capabilities: { elicitation: { form: { applyDefaults: true } } } },
    );
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      say(`elicitation/create: ${request.params.message}; accepting with empty content`);
      return { action: 'accept', content: {} };
    });
    client.onerror = (err) => say(`client error: ${err.message}`);

    transport = new StdioClientTransport({ command: setup.command, args: setup.args, env: setup.env, stderr: 'pipe', cwd: work });
    relay(transport.stderr as NodeJS.ReadableStream | null, `[${target}]`);

    const options = { timeout: REQUEST_TIMEOUT_MS };
    await client.connect(transport, options);
    const server = client.getServerVersion();
    say(`initialized: server ${server?.name} ${server?.version}`);

    const { tools } = await client.listTools(undefined, options);
    say(`tools/list: ${tools.map((t) => t.name).join(', ') || '(none)'}`);
    const tool = tools[0];
    if (!tool) {
      // The initialize scenario's server offers no tools: initialize + tools/list is all there is to do.
      return await shutdown(0);
    }
    if (tool.name === 'sign_in') throw new Error(`the proxy is serving its sign-in placeholder: ${tool.description}`);
    const result = (await client.callTool({ name: tool.name, arguments: TOOL_ARGUMENTS[tool.name] ?? {} }, undefined, options)) as CallToolResult;
    say(`tools/call ${tool.name}: ${result.isError ? 'error: ' : ''}${textOf(result)}`);
    return await shutdown(result.isError ? 1 : 0);
  } catch (err) {
    say(`failed: ${(err as Error).message}`);
    return await shutdown(1);
  }
}

await main();
