// The world `setup` runs in for the tests under test/setup: a temp dir with a home and a project,
// the environment (platform, HOME, APPDATA, …) injected, the CLI's output captured.
import { afterEach, beforeEach } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runSetup, type SetupDeps, type SetupOptions } from '../../src/commands/setup.js';
import { runProgram } from '../../src/setup/claude-code.js';
import type { SetupEnvironment } from '../../src/setup/clients.js';
import { AppError } from '../../src/errors.js';

export interface World {
  root: string;
  home: string;
  project: string;
}

/** A fresh temp world per test (beforeEach), removed after it. */
export function useWorld(): World {
  const world = { root: '', home: '', project: '' };
  beforeEach(() => {
    world.root = mkdtempSync(join(tmpdir(), 'appwrite-mcp-setup-'));
    world.home = join(world.root, 'home');
    world.project = join(world.root, 'project');
    mkdirSync(world.home);
    mkdirSync(world.project);
  });
  afterEach(() => rmSync(world.root, { recursive: true, force: true }));
  return world;
}

export const NOW = new Date('2026-03-04T05:06:07.890Z');

export interface Outcome {
  code?: number;
  error?: AppError;
  stdout: string;
  stderr: string;
}

export interface RunExtras {
  env?: Partial<SetupEnvironment>;
  /** The version setup takes for its own (default: package.json's). */
  version?: string;
  now?: Date;
}

export async function runIn(world: World, client: string, opts: SetupOptions = {}, extras: RunExtras = {}): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const deps = {
    environment: { platform: 'linux', env: { PATH: '' }, home: world.home, cwd: world.project, ...extras.env },
    stdout: (t: string) => void (stdout += t),
    stderr: (t: string) => void (stderr += t),
    run: (spec, o) => runProgram(spec, { ...o, timeoutMs: 10_000 }),
    now: () => extras.now ?? NOW,
    ...(extras.version ? { version: extras.version } : {}),
  } as SetupDeps;
  try {
    return { code: await runSetup(client, opts, deps), stdout, stderr };
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    return { error: err, stdout, stderr };
  }
}

export const read = (path: string) => readFileSync(path, 'utf8');
export const write = (path: string, text: string) => {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
};
