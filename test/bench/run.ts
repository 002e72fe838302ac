// `npm run bench [-- --quick] [-- --check]`: the proxy's overhead next to the direct SDK client and
// mcp-remote, measured together against the local cloud. Markdown on stdout, JSON in
// .test-artifacts/bench.json, progress on stderr. With --check, exits 1 on a large regression.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { runBench } from './bench.js';
import { parseOptions } from './options.js';
import { renderReport } from './report.js';
import { signInOnce } from './sign-in.js';
import { evaluateChecks, evaluateTargets } from './targets.js';

const opts = parseOptions(process.argv.slice(2));
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
