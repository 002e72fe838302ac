// `appwrite-mcp setup <client>`: adds the stdio entry that starts appwrite-mcp to an MCP client's
// config (or runs Claude Code's own `claude mcp add`, or prints the JSON and steps for a client
// configured in its settings window). People-facing lines go to stderr; with --print, the snippet
// itself goes to stdout.
import { AppError, Code } from '../errors.js';
import { printable } from '../log.js';
import { VERSION } from '../version.js';
import { CLIENT_IDS, CLIENTS, findClient, suggestClients, systemEnvironment } from '../setup/clients.js';
import { runProgram } from '../setup/claude-code.js';
import { setupClaudeCode } from '../setup/claude-setup.js';
import { setupFile, setupGui } from '../setup/file-setup.js';
import { makePlan, type PlanOptions, type SetupIO } from '../setup/plan.js';
import { clockDate, type Factory } from './factory.js';

export type SetupOptions = PlanOptions;

export interface SetupDeps extends SetupIO {
  /** The appwrite-mcp version the entry pins (its release line); package.json's by default. */
  version?: string;
}

/** Setup's dependencies over the command factory: its streams, environment, platform and clock. */
export function setupDeps(f: Factory): SetupDeps {
  return {
    environment: systemEnvironment(f.env, f.platform),
    // Names from other servers' entries (a cloned project's config) pass here: escaped like every line.
    stdout: (text) => void f.io.stdout.write(printable(text)),
    stderr: (text) => void f.io.stderr.write(printable(text)),
    run: (spec, opts) => runProgram(spec, opts),
    now: () => clockDate(f.clock),
    version: VERSION,
  };
}

export async function runSetup(clientName: string, opts: SetupOptions, deps: SetupDeps): Promise<number> {
  const client = findClient(clientName);
  if (!client) {
    const close = suggestClients(clientName);
    throw new AppError(Code.USAGE, `unknown client "${clientName}"`, {
      hint: `${close.length ? `Did you mean ${close.join(' or ')}? ` : ''}Clients: ${CLIENT_IDS.join(', ')}.`,
    });
  }
  const withProject = CLIENTS.filter((c) => c.projectNote).map((c) => c.id);
  const plan = makePlan(client, opts, deps.environment, deps.version ?? VERSION, withProject);
  if (client.kind === 'command') return setupClaudeCode(plan, deps);
  if (client.kind === 'gui') return setupGui(client, plan, deps);
  return setupFile(client, plan, deps);
}
