// What one `setup` run is to do, worked out from its flags before anything is read or written; and
// the I/O it does that through (injected, so tests run it against temp dirs and fake programs).
import { AppError, Code } from '../errors.js';
import { DEFAULT_SERVER_URL, invokedAs, resolveServerUrl } from '../target.js';
import type { Client, SetupEnvironment } from './client-types.js';
import type { ProgramResult, SpawnSpec } from './claude-code.js';
import { DEFAULT_ENTRY_NAME, ENTRY_NAME, appwriteMcpIndex, packageSpec, type ServerCommand } from './entry.js';
import type { Wanted } from './merge.js';
import { commandLine, windowsSyntax } from './shell-quote.js';

export interface SetupIO {
  environment: SetupEnvironment;
  stdout(text: string): void;
  stderr(text: string): void;
  /** Runs a program (Claude Code's `claude`). */
  run(spec: SpawnSpec, opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<ProgramResult>;
  now(): Date;
}

export interface Plan {
  client: Client;
  name: string;
  /** The --url given, normalized. */
  url?: string;
  wanted: Wanted;
  projectDir?: string;
  print: boolean;
  force: boolean;
  /** The same setup command with --print, for messages. */
  printCommand: string;
}

export interface PlanOptions {
  url?: string;
  name?: string;
  project?: string | boolean;
  print?: boolean;
  force?: boolean;
}

/** Checks the flags against the client and the platform; throws a usage error (exit 2) for bad ones. */
export function makePlan(client: Client, opts: PlanOptions, e: SetupEnvironment, version: string, projectClients: string[]): Plan {
  const name = opts.name ?? DEFAULT_ENTRY_NAME;
  if (!ENTRY_NAME.test(name)) {
    throw new AppError(Code.USAGE, `--name "${name}" is not a valid server name`, { hint: 'Use letters, digits, "-" and "_" (at most 64).' });
  }
  // Only --url goes into the entry: APPWRITE_MCP_URL in this shell is no reason to pin a client to it.
  const url = opts.url === undefined ? undefined : resolveServerUrl(opts.url, {});
  const bad = url !== undefined && e.platform === 'win32' ? windowsSyntax(url) : undefined;
  if (bad !== undefined) {
    throw new AppError(Code.USAGE, `the server URL holds ${JSON.stringify(bad)}, which cmd.exe would read as syntax: on Windows the entry runs \`cmd /c npx …\`, and the URL must reach appwrite-mcp as it is`, {
      hint: 'Nothing was changed. Use a URL without & | < > ^ % ! " ( ) $ ` (Appwrite project URLs need none), or put it in the entry\'s env as APPWRITE_MCP_URL by hand (cmd.exe does not read env).',
    });
  }
  const projectDir = opts.project === undefined || opts.project === false ? undefined : opts.project === true ? '.' : opts.project;
  if (projectDir !== undefined && !client.projectNote) {
    throw new AppError(Code.USAGE, `${client.label} has no per-project config; --project works with ${projectClients.join(', ')}`);
  }
  const flags = [
    ...(name !== DEFAULT_ENTRY_NAME ? ['--name', name] : []),
    ...(url ? ['--url', url] : []),
    ...(projectDir !== undefined ? ['--project', ...(projectDir === '.' ? [] : [projectDir])] : []),
  ];
  return {
    client, name, url, projectDir,
    print: Boolean(opts.print),
    force: Boolean(opts.force),
    wanted: { platform: e.platform, spec: packageSpec(version), url, force: Boolean(opts.force) },
    printCommand: commandLine(['appwrite-mcp', 'setup', client.id, ...flags, '--print'], e.platform),
  };
}

/** The value of `--flag v` or `--flag=v` (the last one) in `args`. */
function flagValue(args: string[], flag: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === flag) value = args[i + 1];
    else if (args[i]!.startsWith(`${flag}=`)) value = args[i]!.slice(flag.length + 1);
  }
  return value;
}

/** The server an entry connects to (normalized when it parses), its --profile, and whether it sends headers. */
export function entryTarget(server: ServerCommand): { url: string; profile?: string; headers: boolean } {
  const words = [server.command, ...server.args];
  const args = words.slice(appwriteMcpIndex(words) + 1);
  const first = args[args[0] === 'proxy' ? 1 : 0];
  const raw = flagValue(args, '--url') ?? (/^https?:\/\//i.test(first ?? '') ? first : undefined);
  let url = raw ?? DEFAULT_SERVER_URL;
  try {
    url = resolveServerUrl(raw, {});
  } catch {
    // as it is written
  }
  return { url, profile: flagValue(args, '--profile'), headers: args.some((a) => /^(-H|--header(-file)?)(=|$)/.test(a)) };
}

/**
 * `npx appwrite-mcp login [--url …] [--profile …]` for the entry `server` runs, quoted for the
 * user's shell: signing in now means the client never waits for the browser.
 */
export function loginLine(e: SetupEnvironment, server: ServerCommand): string {
  const { url, profile, headers } = entryTarget(server);
  const launcher = invokedAs();
  const line = commandLine([
    ...(launcher.startsWith('node ') ? ['node', launcher.slice(5)] : launcher.split(' ')),
    'login', ...(url !== DEFAULT_SERVER_URL ? ['--url', url] : []), ...(profile ? ['--profile', profile] : []),
  ], e.platform);
  return headers ? `${line} (with the entry's --header and --header-file flags)` : line;
}
