// `npm run bench [-- --quick] [-- --check]`: the proxy's overhead next to the direct SDK client and
// mcp-remote, measured together against the local cloud. Markdown on stdout, JSON in
// .test-artifacts/bench.json, progress on stderr. With --check, exits 1 on a large regression.
//
// A full run measures everything once per supported Node line (the pinned binaries of
// test/node-lines; --node): this script starts itself again on each line's node with `--node
// current`, so that the bench, the direct client, the proxy and mcp-remote all run on that line,
// then prints a summary of the targets per line.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from '../helpers/cli.js';
import { nodeBinary } from '../node-lines/index.mjs';
import { runBench } from './bench.js';
import { parseOptions } from './options.js';
import { renderReport } from './report.js';
import { signInOnce } from './sign-in.js';
import { evaluateChecks, evaluateTargets, type Verdict } from './targets.js';

const opts = parseOptions(process.argv.slice(2));

if (opts.nodeLines) {
  await perLine(opts.nodeLines);
} else {
  const results = await runBench(opts, signInOnce);
  const targets = evaluateTargets(results);
  const checks = evaluateChecks(results);
  process.stdout.write(renderReport(results, targets, checks));

  const jsonPath = resolve(ROOT, opts.json);
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify({ ...results, targets, checks }, null, 2)}\n`);
  process.stderr.write(`[bench] results written to ${jsonPath}\n`);

  const failed = checks.filter((c) => !c.pass && !c.skipped);
  if (opts.check) {
    if (failed.length) {
      process.stderr.write(`[bench] regression check FAILED: ${failed.map((c) => `${c.name} (${c.measured}; limit ${c.limit})`).join('; ')}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write('[bench] regression check passed\n');
    }
    if (opts.strictTargets && targets.some((t) => !t.pass && !t.skipped)) {
      process.stderr.write(`[bench] targets missed: ${targets.filter((t) => !t.pass && !t.skipped).map((t) => t.name).join('; ')}\n`);
      process.exitCode = 1;
    }
  }
}

/** One full run per Node line, one after the other, then the targets side by side. */
async function perLine(lines: string[]): Promise<void> {
  const load = loadavg();
  const summary = new Map<string, { node: string; targets: Verdict[] }>();
  for (const line of lines) {
    const json = opts.json.replace(/\.json$/, `-node${line}.json`);
    const args = ['--import', 'tsx', fileURLToPath(import.meta.url), ...process.argv.slice(2).filter((a, i, all) => a !== '--node' && all[i - 1] !== '--node' && !a.startsWith('--node=')), '--node', 'current', '--json', json];
    process.stderr.write(`[bench] Node ${line}…\n`);
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const code = await new Promise<number | null>((done) => spawn(nodeBinary(line), args, { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit'] }).once('close', done));
    if (code !== 0) process.exitCode = code ?? 1;
    try {
      const r = JSON.parse(readFileSync(resolve(ROOT, json), 'utf8')) as { machine: { node: string }; targets: Verdict[] };
      summary.set(line, { node: r.machine.node, targets: r.targets });
    } catch {
      process.stderr.write(`[bench] Node ${line}: no results\n`);
    }
  }
  const names = [...new Set([...summary.values()].flatMap((s) => s.targets.filter((t) => !t.skipped).map((t) => t.name)))];
  const out = [
    `## Targets per Node line — ${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}, load average ${load.map((n) => n.toFixed(2)).join(' ')} → ${loadavg().map((n) => n.toFixed(2)).join(' ')}`,
    '',
    `| target | ${[...summary.values()].map((s) => s.node).join(' | ')} |`,
    `| --- |${[...summary.values()].map(() => ' --- |').join('')}`,
    ...names.map((name) => `| ${name} | ${[...summary.values()].map((s) => {
      const t = s.targets.find((x) => x.name === name);
      return t ? `${t.measured} — ${t.pass ? 'met' : '**missed**'}` : '–';
    }).join(' | ')} |`),
    '',
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}
