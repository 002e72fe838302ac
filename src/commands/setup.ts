// `appwrite-mcp setup <client>`: adds the stdio entry that starts appwrite-mcp to an MCP client's
// config (or runs Claude Code's own `claude mcp add`). People-facing lines go to stderr; with
// --print, the snippet itself goes to stdout.
import { resolve } from 'node:path';
import { CLIENT_IDS, configPath, findClient, suggestClients, systemEnvironment, type FileClient, type SetupEnvironment } from '../setup/clients.js';
import { DEFAULT_ENTRY_NAME, ENTRY_NAME, formatCommandLine, serverCommand, type ServerCommand } from '../setup/entry.js';
import { ConfigProblem, type EditResult } from '../setup/edit-result.js';
import { newJsonDocument, setJsonEntry } from '../setup/json-edit.js';
import { setTomlServer, tomlServerTable } from '../setup/toml-edit.js';
import { readConfigFile, writeConfigFile } from '../setup/config-file.js';
import { claudeAddArgs, claudeRemoveArgs, findExecutable, runProgram, spawnSpec, type ClaudeScope, type ProgramResult, type SpawnSpec } from '../setup/claude-code.js';
import { loginCommand, resolveServerUrl } from '../target.js';
import { AppError, Code, ExitCode, errorMessage } from '../errors.js';

export interface SetupOptions {
  url?: string;
  name?: string;
  /** true: the current directory; a string: that directory. */
  project?: string | boolean;
  print?: boolean;
  force?: boolean;
}

export interface SetupDeps {
  environment: SetupEnvironment;
  stdout(text: string): void;
  stderr(text: string): void;
  /** Runs a program (Claude Code's `claude`); injectable for tests. */
  run(spec: SpawnSpec, opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<ProgramResult>;
  now(): Date;
}

export function defaultSetupDeps(): SetupDeps {
  return {
    environment: systemEnvironment(),
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    run: (spec, opts) => runProgram(spec, opts),
    now: () => new Date(),
  };
}

interface Plan {
  name: string;
  url?: string;
  server: ServerCommand;
  projectDir?: string;
  /** The same setup command with --print, for messages. */
  printCommand: string;
}

export async function runSetup(clientName: string, opts: SetupOptions, deps: SetupDeps = defaultSetupDeps()): Promise<number> {
  const client = findClient(clientName);
  if (!client) {
    const close = suggestClients(clientName);
    throw new AppError(Code.USAGE, `unknown client "${clientName}"`, {
      hint: `${close.length ? `Did you mean ${close.join(' or ')}? ` : ''}Clients: ${CLIENT_IDS.join(', ')}.`,
    });
  }
  const name = opts.name ?? DEFAULT_ENTRY_NAME;
  if (!ENTRY_NAME.test(name)) {
    throw new AppError(Code.USAGE, `--name "${name}" is not a valid server name`, { hint: 'Use letters, digits, "-" and "_" (at most 64).' });
  }
  // Only --url goes into the entry: APPWRITE_MCP_URL in this shell is no reason to pin a client to it.
  const url = opts.url === undefined ? undefined : resolveServerUrl(opts.url, {});
  const projectDir = opts.project === undefined || opts.project === false ? undefined : opts.project === true ? '.' : opts.project;
  if (projectDir !== undefined && !client.projectNote) {
    const withProject = CLIENT_IDS.filter((id) => findClient(id)!.projectNote);
    throw new AppError(Code.USAGE, `${client.label} has no per-project config; --project works with ${withProject.join(', ')}`);
  }
  const e = deps.environment;
  const flags = [
    ...(name !== DEFAULT_ENTRY_NAME ? ['--name', name] : []),
    ...(url ? ['--url', url] : []),
    ...(projectDir !== undefined ? ['--project', ...(projectDir === '.' ? [] : [projectDir])] : []),
  ];
  const plan: Plan = { name, url, server: serverCommand(e.platform, url), projectDir, printCommand: formatCommandLine(['appwrite-mcp', 'setup', client.id, ...flags, '--print']) };

  if (client.kind === 'command') return setupClaudeCode(plan, opts, deps);
  return setupFile(client, plan, opts, deps);
}

function edit(client: FileClient, text: string, plan: Plan, force: boolean): EditResult {
  if (client.format === 'toml') return setTomlServer(text, { name: plan.name, server: plan.server, force, printCommand: plan.printCommand });
  return setJsonEntry(text, {
    containerKey: client.containerKey!,
    name: plan.name,
    fields: client.fields(plan.server),
    jsonc: client.format === 'jsonc',
    force,
    printCommand: plan.printCommand,
  });
}

function snippet(client: FileClient, plan: Plan): string {
  if (client.format === 'toml') return tomlServerTable(plan.name, plan.server);
  return newJsonDocument(client.containerKey!, plan.name, client.fields(plan.server));
}

async function setupFile(client: FileClient, plan: Plan, opts: SetupOptions, deps: SetupDeps): Promise<number> {
  const path = configPath(client, deps.environment, plan.projectDir);
  const say = (line: string) => deps.stderr(`${line}\n`);
  const where = client.format === 'toml' ? `as the table [mcp_servers.${plan.name}]` : `under "${client.containerKey}"`;

  if (opts.print) {
    say(`${client.label} reads ${path}; the entry goes ${where}:`);
    deps.stdout(snippet(client, plan));
    say(`(--print changed nothing${await printStatus(client, path, plan, Boolean(opts.force))})`);
    return ExitCode.ok;
  }

  const file = await readConfigFile(path);
  let result: EditResult;
  try {
    result = edit(client, file.text, plan, Boolean(opts.force));
  } catch (err) {
    if (err instanceof ConfigProblem) throw new AppError(Code.SETUP_FAILED, `cannot update ${path}: ${err.message}`, { hint: err.hint });
    throw err;
  }
  if (result.kind === 'unchanged') {
    say(`✓ ${client.label}: "${plan.name}" is already set up in ${path}; nothing changed.`);
    return ExitCode.ok;
  }
  const { backup } = await writeConfigFile(file, result.text, deps.now());
  const headline: Record<typeof result.kind, string> = {
    created: `created ${path} with the server "${plan.name}"`,
    added: `added the server "${plan.name}" to ${path}`,
    updated: `updated the server "${plan.name}" in ${path}:`,
    replaced: `replaced the server "${plan.name}" in ${path}:`,
  };
  say(`✓ ${client.label}: ${file.exists && result.kind === 'created' ? `wrote the server "${plan.name}" into the empty file ${path}` : headline[result.kind]}`);
  for (const change of result.changes) say(`    ${change}`);
  if (result.kept.length) say(`    kept as they were: ${result.kept.join(', ')}`);
  if (backup) say(`  The previous file is saved as ${backup}`);
  if (result.kind === 'updated' && result.changes.some((c) => c.startsWith('args:') && c.includes('--url'))) {
    say(`  (To use both servers, restore the backup and run setup with --name <another name>.)`);
  }
  say(`  ${client.reload}`);
  say(`  Sign in now so that ${client.label} never waits for it: ${loginCommand(plan.url ?? resolveServerUrl(undefined, {}))}`);
  return ExitCode.ok;
}

/** For --print: what setup would do to the file as it is now. */
async function printStatus(client: FileClient, path: string, plan: Plan, force: boolean): Promise<string> {
  try {
    const file = await readConfigFile(path);
    if (!file.exists) return '; setup would create the file';
    const result = edit(client, file.text, plan, force);
    if (result.kind === 'unchanged') return `; "${plan.name}" is already set up there`;
    if (result.kind === 'updated' || result.kind === 'replaced') return `; setup would ${result.kind === 'updated' ? 'update' : 'replace'} "${plan.name}": ${result.changes.join('; ')}`;
    return `; setup would add "${plan.name}"`;
  } catch (err) {
    return `; setup could not edit the file as it is: ${errorMessage(err)}`;
  }
}

async function setupClaudeCode(plan: Plan, opts: SetupOptions, deps: SetupDeps): Promise<number> {
  const e = deps.environment;
  const say = (line: string) => deps.stderr(`${line}\n`);
  const scope: ClaudeScope = plan.projectDir !== undefined ? 'project' : 'user';
  const cwd = plan.projectDir !== undefined ? resolveDir(e, plan.projectDir) : e.cwd;
  const addArgs = claudeAddArgs(plan.name, plan.server, scope);
  const line = formatCommandLine(['claude', ...addArgs]);
  const inDir = scope === 'project' && cwd !== e.cwd ? ` in ${cwd}` : '';

  if (opts.print) {
    say(`Claude Code adds servers with its own command; run this${inDir}:`);
    deps.stdout(`${line}\n`);
    say('(--print changed nothing)');
    return ExitCode.ok;
  }
  const claude = await findExecutable('claude', e);
  const addSpec = claude && spawnSpec(claude, addArgs, e.platform);
  if (!claude || !addSpec) {
    say(claude ? `Not running ${claude} (cmd.exe would change these arguments); run this yourself${inDir}:` : `Claude Code's \`claude\` command is not on PATH; run this${inDir} where Claude Code is installed:`);
    deps.stdout(`${line}\n`);
    return ExitCode.ok;
  }

  const run = async (args: string[]) => {
    try {
      return await deps.run(spawnSpec(claude, args, e.platform)!, { cwd, env: e.env });
    } catch (err) {
      throw new AppError(Code.SETUP_FAILED, `could not run ${claude}: ${errorMessage(err)}`, { hint: `Run it yourself: ${line}` });
    }
  };
  if (opts.force) {
    const removed = await run(claudeRemoveArgs(plan.name, scope));
    if (removed.code === 0) say(`Removed the previous "${plan.name}": ran ${formatCommandLine(['claude', ...claudeRemoveArgs(plan.name, scope)])}`);
  }
  const added = await run(addArgs);
  const output = added.output.trim();
  if (added.code === 0) {
    say(`✓ Claude Code: ran ${line}${inDir}`);
    if (output) say(indent(output));
    say(`  Sign in now so that Claude Code never waits for it: ${loginCommand(plan.url ?? resolveServerUrl(undefined, {}))}`);
    return ExitCode.ok;
  }
  if (/already exists/i.test(output)) {
    say(`Claude Code already has an MCP server named "${plan.name}" (${scope} scope); it was left as it is.`);
    say(indent(output));
    say(`  To replace it with ${formatCommandLine([plan.server.command, ...plan.server.args])}, run setup again with --force (it runs claude mcp remove first).`);
    return ExitCode.ok;
  }
  throw new AppError(Code.SETUP_FAILED, `${line} failed (exit code ${added.code})${output ? `:\n${indent(output)}` : ''}`, { hint: 'Nothing else was changed.' });
}

function resolveDir(e: SetupEnvironment, dir: string): string {
  return resolve(e.cwd, dir);
}

const indent = (text: string) => text.split('\n').map((l) => `    ${l}`).join('\n');
