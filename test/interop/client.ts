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
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CLIENT_KINDS, connectClient, type ClientKind, type DesktopClient } from './desktop-client.js';
import { planFor } from './plans.js';
import { proxySetup, type ConformanceContext, type Target } from './proxy-setup.js';
import { runPlan } from './run-plan.js';
import { startWireLog, type WireLog } from './wire-log.js';

// CONFORMANCE_INTEROP_DIR: this folder, when the script runs as the bundle conformance.ts makes of it.
const here = process.env.CONFORMANCE_INTEROP_DIR ?? dirname(fileURLToPath(import.meta.url));

/** Whole-run bound, below the suite's --timeout, so that this script reports instead of being killed. */
const DEADLINE_MS = Number(process.env.CONFORMANCE_CLIENT_DEADLINE_MS) || 40_000;
const REQUEST_TIMEOUT_MS = 35_000;

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
