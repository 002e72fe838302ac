#!/usr/bin/env node
// The test command (`npm test`). Runs the vitest suite inside a private D-Bus session with an
// unlocked gnome-keyring (test/with-keyring.mjs: a real Secret Service whose keyring lives in a temp
// dir, so a developer's own keychain is never touched), then prints a plain "N passed, N failed" line.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, existsSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const args = process.argv.slice(2);

if (!process.env.APPWRITE_MCP_TEST_IN_DBUS && has('dbus-run-session') && has('gnome-keyring-daemon')) {
  const r = spawnSync(process.execPath, [join(root, 'test/with-keyring.mjs'), process.execPath, join(root, 'test/run.mjs'), ...args], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
if (!process.env.APPWRITE_MCP_TEST_IN_DBUS) {
  process.stderr.write('warning: dbus-run-session or gnome-keyring-daemon not found: the keychain tests cannot reach a real Secret Service\n');
}

const artifacts = join(root, '.test-artifacts');
mkdirSync(artifacts, { recursive: true });
const report = join(artifacts, 'vitest.json');
rmSync(report, { force: true });
const vitest = spawnSync(
  process.execPath,
  [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'test/vitest.config.ts', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...args],
  { stdio: 'inherit', cwd: root },
);

let passed = 0, failed = 0, skipped = 0;
if (existsSync(report)) {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed = r.numPassedTests ?? 0;
  failed = (r.numFailedTests ?? 0) + (r.numRuntimeErrorTestSuites ?? 0) + (r.testResults ?? []).filter((f) => f.status === 'failed' && (f.assertionResults ?? []).length === 0).length;
  skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
} else {
  failed = 1;
}
if (vitest.status !== 0 && failed === 0) failed = 1;
process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
process.exit(failed > 0 ? 1 : 0);
