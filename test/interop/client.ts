// The client under test for the MCP conformance suite's client scenarios.
//
// The suite (@modelcontextprotocol/conformance `client --command "<cmd>" --scenario <name>`) starts
// a test server per scenario and runs `<cmd> <server URL>` through a shell, with the scenario's
// name in MCP_CONFORMANCE_SCENARIO and, for some scenarios, a JSON object of credentials or test
// data in MCP_CONFORMANCE_CONTEXT. It judges the client by what reaches its servers (and by this
// process's exit code and whether it ends within --timeout).
//
// What this script is: a stand-in for a desktop MCP client. It spawns a stdio proxy (our built
// CLI, or mcp-remote for comparison) for the server URL, with an isolated temporary config dir, the
// file secret store, and BROWSER set to browser.mjs (which follows the suite's /authorize redirect
// back to the proxy's loopback callback), connects one of two real SDK clients over stdio (--client
// 2025: SDK 1.32 `Client`; --client 2026: SDK v2 `@modelcontextprotocol/client` 2.4, see
// desktop-client.ts) and does what the scenario's row in plans.ts says a desktop client does with
// that server. Everything the proxy prints on stderr is passed on, prefixed, to this process's
// stderr (the suite saves it as stderr.txt).
//
// Usage: node --import tsx test/interop/client.ts [--target appwrite-mcp|mcp-remote] [--client 2025|2026] <server URL>
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CLIENT_KINDS, connectClient, type ClientKind, type DesktopClient } from './desktop-client.js';
import { planFor } from './plans.js';
import { runPlan } from './run-plan.js';
import { startWireLog, type WireLog } from './wire-log.js';

// CONFORMANCE_INTEROP_DIR: this folder, when the script runs as the bundle conformance.ts makes of it.
const here = process.env.CONFORMANCE_INTEROP_DIR ?? dirname(fileURLToPath(import.meta.url));
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
  /** http-custom-headers: the tool calls (name, arguments) the client is to make. */
  toolCalls?: { name: string; arguments?: Record<string, unknown> }[];
  [key: string]: unknown;
}

/** Whole-run bound, below the suite's --timeout, so that this script reports instead of being killed. */
const DEADLINE_MS = Number(process.env.CONFORMANCE_CLIENT_DEADLINE_MS) || 40_000;
const REQUEST_TIMEOUT_MS = 35_000;

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

function parseArgs(argv: string[]): { target: Target; client: ClientKind; url: string } {
  let target: Target = 'appwrite-mcp';
  let client: ClientKind = '2025';
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--target') {
      const value = argv[++i];
      if (value !== 'appwrite-mcp' && value !== 'mcp-remote') throw new Error(`--target must be appwrite-mcp or mcp-remote, not ${value}`);
      target = value;
    } else if (argv[i] === '--client') {
      const value = argv[++i] as ClientKind;
      if (!CLIENT_KINDS.includes(value)) throw new Error(`--client must be ${CLIENT_KINDS.join(' or ')}, not ${value}`);
      client = value;
    } else {
      rest.push(argv[i]!);
    }
  }
  const url = rest.at(-1);
  if (!url) throw new Error('usage: client.ts [--target appwrite-mcp|mcp-remote] [--client 2025|2026] <server URL>');
  return { target, client, url };
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

async function main(): Promise<number> {
  const { target, client: kind, url } = parseArgs(process.argv.slice(2));
  const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? '(unknown)';
  const context = readContext();
  const plan = planFor(scenario);
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
  // CONFORMANCE_WIRE_LOG: put a logging forwarder between the proxy and the server (wire-log.ts).
  const wire: WireLog | undefined = process.env.CONFORMANCE_WIRE_LOG ? await startWireLog(url, say) : undefined;
  const setup = proxySetup(target, wire?.url ?? url, scenario, context, env, work);
  say(`scenario ${scenario} (wire ${process.env.MCP_CONFORMANCE_PROTOCOL_VERSION ?? '?'}), target ${target}, ${kind} client, server ${url}`);
  say(`plan: ${JSON.stringify({ ...plan, require: undefined, why: undefined })}`);
  if (context) say(`context keys: ${Object.keys(context).filter((k) => k !== 'name').join(', ')}`);
  for (const item of setup.unmapped) say(`context not passed to ${target}: ${item}`);

  const deadline = setTimeout(() => {
    say(`gave up after ${DEADLINE_MS} ms`);
    void shutdown(1);
  }, DEADLINE_MS);
  let client: DesktopClient | undefined;
  let finished = false;
  const shutdown = async (code: number): Promise<number> => {
    if (finished) return code;
    finished = true;
    clearTimeout(deadline);
    try {
      await client?.close();
    } catch {
      // already gone
    }
    await wire?.close();
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
    client = await connectClient(kind, { command: setup.command, args: setup.args, env: setup.env, cwd: work }, {
      say,
      stderr: (stream) => relay(stream, `[${target}]`),
    }, REQUEST_TIMEOUT_MS);
    say(`connected: server ${client.server()}, era ${client.era()}`);
    await runPlan(client, plan, { context, say });
    return await shutdown(0);
  } catch (err) {
    say(`failed: ${(err as Error).message}`);
    return await shutdown(1);
  }
}

await main();
