import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

export async function makeTempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'appwrite-mcp-store-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface FixtureRun { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Runs test/store/fixtures/<name>.ts in a child node; killed (and the test failed) after `killAfterMs`. */
export function runFixture(name: string, args: string[], options: { env?: NodeJS.ProcessEnv; killAfterMs?: number } = {}): Promise<FixtureRun> {
  const child = spawnFixture(name, args, options.env);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const killer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 20_000);
  return new Promise((resolve) => child.on('exit', (code, signal) => {
    clearTimeout(killer);
    resolve({ code, signal, stdout, stderr });
  }));
}

export function spawnFixture(name: string, args: string[], env?: NodeJS.ProcessEnv) {
  return spawn(process.execPath, ['--import', 'tsx', join(fixtures, `${name}.ts`), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
