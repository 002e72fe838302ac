// `setup` for a client whose config file it edits (every client but Claude Code and JetBrains AI
// Assistant): find the file, edit the entry in the file's own format, back up, write, and say what
// changed — never a value that may be another server's secret.
import { lstat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AppError, Code, ExitCode, errorMessage } from '../errors.js';
import { configCandidates, type FileClient, type GuiClient } from './clients.js';
import { readConfigFile, resolveConfigPath, writeConfigFile } from './config-file.js';
import { decide } from './decide.js';
import { ConfigProblem, type EditResult } from './edit-result.js';
import { setJsonEntry } from './json-edit.js';
import { entryTarget, loginLine, type Plan, type SetupIO } from './plan.js';
import { setTomlServer } from './toml-edit.js';

/**
 * Edits `text` (a config file's content, empty for a new file) as the plan says, in the client's
 * format. The YAML editor (and its parser, a dependency of 1.4 MB) is loaded only for Goose.
 */
export async function editConfig(client: FileClient | GuiClient, plan: Plan, text: string): Promise<EditResult> {
  const format = client.kind === 'gui' ? 'json' : client.format;
  const where = format === 'toml' ? `config.toml's [${client.containerKey}]` : `"${client.containerKey}"`;
  const request = { name: plan.name, shape: client.shape, wanted: plan.wanted, where };
  const decideEntry = (existing: unknown) => decide(existing, request);
  const common = { containerKey: client.containerKey, name: plan.name, decide: decideEntry, printCommand: plan.printCommand };
  if (format === 'toml') return setTomlServer(text, common);
  if (format === 'yaml') return (await import('./yaml-edit.js')).setYamlEntry(text, common);
  return setJsonEntry(text, { ...common, jsonc: format === 'jsonc' });
}

/** The first candidate that exists (a symlink counts), else the first. */
async function pickFile(candidates: string[]): Promise<string> {
  for (const path of candidates) if (await lstat(path).then(() => true, () => false)) return path;
  return candidates[0]!;
}

/** What to call the file in messages: the real one, and the symlink it was reached through. */
const fileName = (path: string, real: string) => (real === path ? path : `${real} (through the symlink ${path})`);

/** The hint, for clients that can sign in to a remote server themselves, that they can also do it without appwrite-mcp. */
export function remoteHint(client: FileClient | GuiClient, plan: Plan, url: string): string | undefined {
  if (!client.remoteEntry) return undefined;
  return `  ${client.label} can also connect to the server by itself, with its own OAuth sign-in: ${JSON.stringify({ [plan.name]: client.remoteEntry(url) })} under "${client.containerKey}". appwrite-mcp adds one sign-in kept in the OS keychain and shared by every client, tool filters, and both MCP protocol eras.`;
}

export async function setupFile(client: FileClient, plan: Plan, io: SetupIO): Promise<number> {
  const e = io.environment;
  const say = (line: string) => io.stderr(`${line}\n`);
  const path = await pickFile(configCandidates(client, e, plan.projectDir));
  const real = await resolveConfigPath(path, plan.projectDir === undefined ? undefined : resolve(e.cwd, plan.projectDir));
  const shown = fileName(path, real);
  const where = client.format === 'toml' ? `as the table [mcp_servers.${plan.name}]` : `under "${client.containerKey}"`;
  const fresh = (await editConfig(client, plan, '')) as Extract<EditResult, { text: string }>;

  if (plan.print) {
    say(`${client.label} reads ${shown}; the entry goes ${where}:`);
    io.stdout(fresh.text);
    say(`(--print changed nothing${await printStatus(client, plan, path, real)})`);
    say(`  ${client.label}'s own documentation of this file: ${client.docs.join(' and ')}`);
    const hint = remoteHint(client, plan, entryTarget(fresh.server).url);
    if (hint) say(hint);
    return ExitCode.ok;
  }

  const file = await readConfigFile(path, real);
  let result: EditResult;
  try {
    result = await editConfig(client, plan, file.text);
  } catch (err) {
    if (err instanceof ConfigProblem) throw new AppError(Code.SETUP_FAILED, `cannot update ${shown}: ${err.message}`, { hint: err.hint });
    throw err;
  }
  for (const note of result.notes) say(`  Note: ${note}`);
  if (result.kind === 'unchanged') {
    say(`✓ ${client.label}: "${plan.name}" is already set up in ${shown}; nothing changed.`);
    return ExitCode.ok;
  }
  const { backup } = await writeConfigFile(file, result.text, io.now());
  const headline: Record<typeof result.kind, string> = {
    created: file.exists ? `wrote the server "${plan.name}" into the empty file ${shown}` : `created ${shown} with the server "${plan.name}"`,
    added: `added the server "${plan.name}" to ${shown}`,
    updated: `updated the server "${plan.name}" in ${shown}:`,
    replaced: `replaced the server "${plan.name}" in ${shown}:`,
  };
  say(`✓ ${client.label}: ${headline[result.kind]}`);
  for (const change of result.changes) say(`    ${change}`);
  if (result.keptFlags.length) say(`    kept your flags: ${result.keptFlags.join(', ')}`);
  if (result.kept.length) say(`    kept as they were: ${result.kept.join(', ')}`);
  if (backup) say(`  The previous file is saved as ${backup}`);
  if (result.changes.some((c) => c.startsWith('--url:'))) say('  (To use both servers, restore the backup and run setup with --name <another name>.)');
  say(`  ${client.reload}`);
  say(`  Sign in now so that ${client.label} never waits for it: ${loginLine(e, result.server)}`);
  const hint = remoteHint(client, plan, entryTarget(result.server).url);
  if (hint) say(hint);
  return ExitCode.ok;
}

/** For --print: what setup would do to the file as it is now (names only, never values). */
async function printStatus(client: FileClient, plan: Plan, path: string, real: string): Promise<string> {
  try {
    const file = await readConfigFile(path, real);
    if (!file.exists) return '; setup would create the file';
    const result = await editConfig(client, plan, file.text);
    const notes = result.notes.length ? `; ${result.notes.join('; ')}` : '';
    if (result.kind === 'unchanged') return `; "${plan.name}" is already set up there${notes}`;
    if (result.kind === 'updated' || result.kind === 'replaced') {
      const kept = result.keptFlags.length ? `; it would keep your flags ${result.keptFlags.join(', ')}` : '';
      return `; setup would ${result.kind === 'updated' ? 'update' : 'replace'} "${plan.name}": ${result.changes.join('; ')}${kept}${notes}`;
    }
    return `; setup would add "${plan.name}"`;
  } catch (err) {
    return `; setup could not edit the file as it is: ${errorMessage(err)}`;
  }
}

/** A client set up in its settings window: the JSON to paste and the exact steps (--print or not, nothing is written). */
export async function setupGui(client: GuiClient, plan: Plan, io: SetupIO): Promise<number> {
  const say = (line: string) => io.stderr(`${line}\n`);
  const fresh = (await editConfig(client, plan, '')) as Extract<EditResult, { text: string }>;
  say(`${client.label} keeps its MCP servers in its settings, not in a file setup can edit; add this JSON there:`);
  io.stdout(fresh.text);
  client.steps(plan.projectDir !== undefined).forEach((step, i) => say(`  ${i + 1}. ${step}`));
  say(`  (${client.label}'s own documentation: ${client.docs.join(' and ')})`);
  say(`  Sign in now so that ${client.label} never waits for it: ${loginLine(io.environment, fresh.server)}`);
  say('(nothing was changed)');
  return ExitCode.ok;
}
