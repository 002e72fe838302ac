// `setup claude-code`: Claude Code adds servers with its own command. setup reads the entry Claude
// Code has now (~/.claude.json for user scope, the project's .mcp.json for project scope) so that a
// re-run keeps what the user added, then runs `claude mcp add` (or `remove` + `add-json` to update),
// or prints the lines when `claude` is not on PATH.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AppError, Code, ExitCode, errorMessage } from '../errors.js';
import { envDir } from './client-types.js';
import { claudeAddArgs, claudeAddJsonArgs, claudeRemoveArgs, findExecutable, spawnSpec, type ClaudeScope } from './claude-code.js';
import { resolveConfigPath } from './config-file.js';
import { decide, type Decision } from './decide.js';
import { ConfigProblem } from './edit-result.js';
import { STDIO } from './entry-shapes.js';
import type { ServerCommand } from './entry.js';
import { isJsonObject, parseJsonDocument, type JsonObject, type JsonValue } from './json-document.js';
import { loginLine, type Plan, type SetupIO } from './plan.js';
import { commandLine } from './shell-quote.js';

/** The entry named `name` in Claude Code's file for `scope`, or undefined (none, or a file it cannot read). */
async function currentEntry(file: string, name: string): Promise<JsonValue | undefined> {
  try {
    const root = parseJsonDocument(await readFile(file, 'utf8')).value;
    const servers = isJsonObject(root) ? root.mcpServers : undefined;
    return isJsonObject(servers) && Object.prototype.hasOwnProperty.call(servers, name) ? servers[name] : undefined;
  } catch {
    return undefined;
  }
}

/** The entry with its env values hidden, for the printed `add-json` line. */
const masked = (entry: JsonObject): JsonObject =>
  isJsonObject(entry.env) ? { ...entry, env: Object.fromEntries(Object.keys(entry.env).map((k) => [k, '…'])) } : entry;

/** The `claude` runs that carry out `decision` (and their printable form). */
function steps(decision: Exclude<Decision, { kind: 'unchanged' }>, existing: JsonValue | undefined, plan: Plan, scope: ClaudeScope) {
  if (decision.kind === 'update') {
    const entry = { ...(existing as JsonObject), ...decision.set };
    return { runs: [claudeRemoveArgs(plan.name, scope), claudeAddJsonArgs(plan.name, entry, scope)], shown: [claudeRemoveArgs(plan.name, scope), claudeAddJsonArgs(plan.name, masked(entry), scope)] };
  }
  const runs = [...(decision.kind === 'replace' || plan.force ? [claudeRemoveArgs(plan.name, scope)] : []), claudeAddArgs(plan.name, decision.server, scope)];
  return { runs, shown: runs };
}

export async function setupClaudeCode(plan: Plan, io: SetupIO): Promise<number> {
  const e = io.environment;
  const say = (line: string) => io.stderr(`${line}\n`);
  const scope: ClaudeScope = plan.projectDir !== undefined ? 'project' : 'user';
  const cwd = plan.projectDir !== undefined ? resolve(e.cwd, plan.projectDir) : e.cwd;
  const file = scope === 'project' ? await resolveConfigPath(join(cwd, '.mcp.json'), cwd) : join(envDir(e, 'CLAUDE_CONFIG_DIR') ?? e.home, '.claude.json');
  const existing = await currentEntry(file, plan.name);
  let decision: Decision;
  try {
    decision = decide(existing, { name: plan.name, shape: STDIO, wanted: plan.wanted, where: `Claude Code's ${scope} scope` });
  } catch (err) {
    if (err instanceof ConfigProblem) throw new AppError(Code.SETUP_FAILED, err.message, { hint: err.hint.replace('(a backup of the file is kept)', '(setup runs claude mcp remove first)') });
    throw err;
  }
  const inDir = scope === 'project' && cwd !== e.cwd ? ` in ${cwd}` : '';
  for (const note of decision.kind === 'unchanged' || decision.kind === 'update' ? decision.notes : []) say(`  Note: ${note}`);
  if (decision.kind === 'unchanged') {
    say(`✓ Claude Code: "${plan.name}" is already set up (${scope} scope); nothing changed.`);
    say(`  Sign in now so that Claude Code never waits for it: ${loginLine(e, decision.server)}`);
    return ExitCode.ok;
  }
  const { runs, shown } = steps(decision, existing, plan, scope);
  const lines = shown.map((args) => commandLine(['claude', ...args], e.platform));
  const hidden = decision.kind === 'update' && isJsonObject((existing as JsonObject).env) ? ' (put your env values where the line shows …)' : '';
  if (decision.kind === 'update') for (const change of decision.changes) say(`    ${change}`);

  const claude = plan.print ? undefined : await findExecutable('claude', e);
  const specs = claude ? runs.map((args) => spawnSpec(claude, args, e.platform)) : [];
  if (plan.print || !claude || specs.some((s) => !s)) {
    say(plan.print ? `Claude Code adds servers with its own command; run this${inDir}${hidden}:`
      : claude ? `Not running ${claude} (cmd.exe would change these arguments); run this yourself${inDir}${hidden}:`
        : `Claude Code's \`claude\` command is not on PATH; run this${inDir} where Claude Code is installed${hidden}:`);
    io.stdout(lines.map((l) => `${l}\n`).join(''));
    if (plan.print) say('(--print changed nothing)');
    return ExitCode.ok;
  }
  let last = { code: 0 as number | null, output: '' };
  for (const [i, spec] of specs.entries()) {
    try {
      last = await io.run(spec!, { cwd, env: e.env });
    } catch (err) {
      throw new AppError(Code.SETUP_FAILED, `could not run ${claude}: ${errorMessage(err)}`, { hint: `Run it yourself: ${lines.join(' && ')}` });
    }
    const isRemove = runs[i]![1] === 'remove';
    if (isRemove && last.code === 0) say(`Removed the previous "${plan.name}": ran ${lines[i]}`);
    if (!isRemove) break;
  }
  return reportAdd(last, { line: lines[lines.length - 1]!, inDir, server: decision.server }, plan, scope, io);
}

interface Ran {
  line: string;
  inDir: string;
  server: ServerCommand;
}

function reportAdd(added: { code: number | null; output: string }, { line, inDir, server }: Ran, plan: Plan, scope: ClaudeScope, io: SetupIO): number {
  const say = (text: string) => io.stderr(`${text}\n`);
  const output = added.output.trim();
  const indent = (text: string) => text.split('\n').map((l) => `    ${l}`).join('\n');
  if (added.code === 0) {
    say(`✓ Claude Code: ran ${line}${inDir}`);
    if (output) say(indent(output));
    say(`  Sign in now so that Claude Code never waits for it: ${loginLine(io.environment, server)}`);
    return ExitCode.ok;
  }
  if (/already exists/i.test(output)) {
    say(`Claude Code already has an MCP server named "${plan.name}" (${scope} scope); it was left as it is.`);
    say(indent(output));
    say(`  To replace it with ${commandLine([server.command, ...server.args], io.environment.platform)}, run setup again with --force (it runs claude mcp remove first).`);
    return ExitCode.ok;
  }
  throw new AppError(Code.SETUP_FAILED, `${line} failed (exit code ${added.code})${output ? `:\n${indent(output)}` : ''}`, { hint: 'Nothing else was changed.' });
}
