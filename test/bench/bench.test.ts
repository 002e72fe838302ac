// CI keeps the proxy close to invisible: the quick benchmark with --check must pass. The check only
// fails on LARGE regressions, as ratios measured in the same run against the direct SDK client and
// mcp-remote (see targets.ts), so it holds on a slow or busy 2-core box.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

const JSON_OUT = '.test-artifacts/bench-quick.json';

it('the quick benchmark passes the regression check (proxy vs direct vs mcp-remote)', { timeout: 360_000 }, async () => {
  expect(existsSync(join(ROOT, 'dist/cli.js')), 'run `npm run build` first').toBe(true);
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/bench/run.ts', '--quick', '--check', '--json', JSON_OUT], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  // The report is useful in CI logs whether or not the check passed.
  process.stdout.write(`\n${stdout}\n`);
  expect(code, `bench failed:\n${stderr.split('\n').slice(-30).join('\n')}`).toBe(0);
  const results = JSON.parse(readFileSync(join(ROOT, JSON_OUT), 'utf8')) as { checks: Array<{ name: string; pass: boolean }> };
  expect(results.checks.filter((c) => !c.pass).map((c) => c.name)).toEqual([]);
  // A passing run reads as passing: the absolute targets (for full runs) are informational here.
  expect(stdout).toMatch(/^Regression check: passed/m);
  expect(stdout).not.toMatch(/FAIL/);
});
