// Claude Code keeps its MCP servers in its own files and has a command to add one: `setup` runs
// `claude mcp add` when `claude` is on PATH, and prints the line otherwise.
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter as hostDelimiter, resolve } from 'node:path';
import type { ServerCommand } from './entry.js';
import type { SetupEnvironment } from './client-types.js';

export type ClaudeScope = 'user' | 'project';

/** `mcp add --scope <scope> <name> -- <command> <args…>` */
export function claudeAddArgs(name: string, server: ServerCommand, scope: ClaudeScope): string[] {
  return ['mcp', 'add', '--scope', scope, name, '--', server.command, ...server.args];
}

export function claudeRemoveArgs(name: string, scope: ClaudeScope): string[] {
  return ['mcp', 'remove', '--scope', scope, name];
}

/** `mcp add-json --scope <scope> <name> <json>`: the whole entry, so that its env and other keys stay. */
export function claudeAddJsonArgs(name: string, entry: object, scope: ClaudeScope): string[] {
  return ['mcp', 'add-json', '--scope', scope, name, JSON.stringify(entry)];
}

/** The executable `name` resolves to on PATH (with PATHEXT on Windows), or undefined. */
export async function findExecutable(name: string, e: SetupEnvironment): Promise<string | undefined> {
  const win = e.platform === 'win32';
  const pathVar = (win ? e.env.Path ?? e.env.PATH : e.env.PATH) ?? '';
  const delimiter = win ? ';' : e.platform === process.platform ? hostDelimiter : ':';
  const exts = win ? (e.env.PATHEXT || '.COM;.EXE;.BAT;.CMD').split(';').filter(Boolean) : [''];
  for (const dir of pathVar.split(delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const candidate = resolve(dir.replace(/^"|"$/g, ''), name + ext.toLowerCase());
      try {
        if (!(await stat(candidate)).isFile()) continue;
        if (!win) await access(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

export interface SpawnSpec {
  command: string;
  args: string[];
  windowsVerbatimArguments?: boolean;
}

/**
 * How to start `file` with `args`. On Windows a `.cmd`/`.bat` (npm's shims) can only run through
 * cmd.exe, which re-parses the line: each argument is quoted, and arguments cmd would still expand
 * (`%`) are refused (undefined), so that the caller prints the line instead of running a wrong one.
 */
export function spawnSpec(file: string, args: string[], platform: NodeJS.Platform): SpawnSpec | undefined {
  if (platform !== 'win32' || !/\.(cmd|bat)$/i.test(file)) return { command: file, args };
  if ([file, ...args].some((a) => /["%\r\n]/.test(a))) return undefined;
  const quoted = [file, ...args].map((a) => (/^[\w\-./:\\=@]+$/.test(a) ? a : `"${a}"`)).join(' ');
  return { command: 'cmd.exe', args: ['/d', '/s', '/c', `"${quoted}"`], windowsVerbatimArguments: true };
}

export interface ProgramResult {
  code: number | null;
  output: string;
}

/** Runs a program to completion (killed after `timeoutMs`), collecting stdout and stderr together. */
export function runProgram(spec: SpawnSpec, opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<ProgramResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(spec.command, spec.args, {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsVerbatimArguments: spec.windowsVerbatimArguments,
      windowsHide: true,
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => {
      output += `\n(killed after ${Math.round((opts.timeoutMs ?? 60_000) / 1000)} s)`;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
