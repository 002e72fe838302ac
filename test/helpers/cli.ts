// Runs the built CLI (bin/appwrite-mcp.js → dist/) as a child process, the way users do.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'bin/appwrite-mcp.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliRun {
  result: Promise<CliResult>;
  /** stderr so far, for tests that wait for a line. */
  stderr(): string;
  kill(signal?: NodeJS.Signals): void;
}

export function startCli(args: string[], env: NodeJS.ProcessEnv, opts: { timeoutMs?: number } = {}): CliRun {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...baseEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  const result = new Promise<CliResult>((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return { result, stderr: () => stderr, kill: (signal) => child.kill(signal) };
}

export function runCli(args: string[], env: NodeJS.ProcessEnv, opts: { timeoutMs?: number } = {}): Promise<CliResult> {
  return startCli(args, env, opts).result;
}

/** The environment every CLI child gets: no inherited browser, CI-style output. */
export function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true', NO_COLOR: '1' };
  delete env.APPWRITE_MCP_TOKEN;
  delete env.APPWRITE_MCP_URL;
  delete env.APPWRITE_MCP_STORE;
  delete env.BROWSER;
  delete env.APPWRITE_MCP_BROWSER;
  return env;
}

/** A fresh config dir per test, removed by the returned cleanup. */
export function tempConfigDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'appwrite-mcp-test-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Environment in which the keychain is certainly unreachable (no D-Bus): the file fallback is used. */
export const NO_KEYCHAIN_ENV = { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/appwrite-mcp-test-bus' };

export function hasSecretService(): boolean {
  return Boolean(process.env.DBUS_SESSION_BUS_ADDRESS) && process.env.APPWRITE_MCP_TEST_IN_DBUS === '1';
}

/** Writes an executable script and returns its path. */
export function writeScript(dir: string, name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, body);
  chmodSync(path, 0o755);
  return path;
}
