// The pinned Node.js binaries of the supported lines (test/node-lines/package.json), for tests and
// benchmarks that run the CLI on Node 22, 24 and 26. Installed on first use with
// `npm ci --prefix test/node-lines` (the system Node keeps running npm and the build).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The supported Node.js lines, newest last. */
export const LINES = ['22', '24', '26'];

/** The path of the pinned `node` binary of a line ("22", "24" or "26"); installs them all when missing. */
export function nodeBinary(line) {
  if (!LINES.includes(String(line))) throw new TypeError(`no pinned Node.js ${line}: the lines are ${LINES.join(', ')}`);
  const bin = join(here, 'node_modules', `node${line}`, 'bin', 'node');
  if (!existsSync(bin)) {
    process.stderr.write('installing the pinned Node.js lines (npm ci --prefix test/node-lines)...\n');
    const r = spawnSync('npm', ['ci', '--prefix', here, '--no-audit', '--no-fund', '--loglevel=error'], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0 || !existsSync(bin)) throw new Error('npm ci --prefix test/node-lines failed');
  }
  return bin;
}
