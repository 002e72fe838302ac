#!/usr/bin/env node
// Makes a fresh clone ready for `npm run demo` (argument "demo") or `npm test` ("test"): the npm
// packages, and on Debian/Ubuntu the system packages the browser and keychain tests use (Chromium,
// gnome-keyring, D-Bus, secret-tool), and for the tests the pinned Node.js binaries of the supported
// lines (test/node-lines), which run the suite. Uses only Node built-ins: it runs before `npm ci`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LINES, nodeBinary } from './node-lines/index.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const purpose = process.argv[2] === 'demo' ? 'demo' : 'test';
const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts }).status === 0;
const quiet = (cmd, args) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const has = (cmd) => quiet('sh', ['-c', `command -v ${cmd}`]);

if (!existsSync(join(root, 'node_modules/.package-lock.json'))) {
  process.stderr.write('provision: installing npm packages (npm ci)\n');
  if (!run('npm', ['ci', '--no-audit', '--no-fund'])) process.exit(1);
}

if (purpose === 'test' && process.platform === 'linux' && process.arch === 'x64') {
  try {
    for (const line of LINES) nodeBinary(line); // installs them (npm ci --prefix test/node-lines) when missing
  } catch (err) {
    process.stderr.write(`provision: ${err.message}\n`);
    process.exit(1);
  }
} else if (purpose === 'demo') {
  // npm and the build run on any Node.js >= 20.19; the CLI itself supports the lines package.json's
  // engines names (22.12 and later: 22, 24, 26). The demo runs it on the Node.js that runs npm.
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 22 || (major === 22 && minor < 12)) {
    process.stderr.write(`provision: the demo runs appwrite-mcp on this Node.js ${process.version}, which appwrite-mcp no longer supports (it supports Node.js 22.12 and later: the 22, 24 and 26 lines); \`npm test\` runs it on those lines\n`);
  }
}

const headless = process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY;
const chromium = ['chromium', '/usr/bin/chromium'];
const keyring = [['gnome-keyring', 'gnome-keyring-daemon'], ['dbus', 'dbus-run-session']];
// The demo needs Chromium only to sign in without a display. gnome-keyring and D-Bus give it the
// tests' private keyring (test/with-keyring.mjs); without them it keeps its secrets in a temp file, so
// on a headless machine they are installed when that can be done without asking, never required.
const wanted = purpose === 'test'
  ? [chromium, ...keyring, ['libsecret-tools', 'secret-tool']]
  : headless || process.env.CI ? [chromium] : [];
const optional = purpose === 'demo' && (headless || process.env.CI) && process.platform === 'linux' ? keyring : [];
const absent = (list) => list.filter(([, probe]) => (probe.startsWith('/') ? !existsSync(probe) : !has(probe))).map(([pkg]) => pkg);
const missing = process.env.CHROMIUM_PATH ? [] : absent(wanted); // CHROMIUM_PATH: the user provides what is needed
const missingOptional = absent(optional);
if (missing.length === 0 && missingOptional.length === 0) process.exit(0);

const why = purpose === 'test' ? 'the browser and keychain tests' : missing.length ? 'signing in without a display' : "the demo's private keyring";
const sudo = !has('apt-get') ? undefined : process.getuid?.() === 0 ? [] : quiet('sudo', ['-n', 'true']) ? ['sudo'] : undefined;
if (sudo) {
  const all = [...missing, ...missingOptional];
  process.stderr.write(`provision: installing ${all.join(', ')} with apt-get (for ${why})\n`);
  const apt = (args) => run(sudo[0] ?? 'apt-get', sudo.length ? ['apt-get', ...args] : args, {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (apt(['update', '-qq']) && apt(['install', '-y', '-qq', '--no-install-recommends', ...all])) process.exit(0);
  process.exit(missing.length ? 1 : 0);
}
if (missing.length === 0) process.exit(0); // only nice-to-haves are missing: the demo says what it uses instead
if (has('apt-get')) {
  process.stderr.write(`provision: ${why} need ${missing.join(', ')}. Install them with:\n  sudo apt-get install -y ${missing.join(' ')}\n`);
} else {
  process.stderr.write(`provision: ${why} need Chromium${purpose === 'test' ? ', a Secret Service (gnome-keyring) and D-Bus' : ''}; install them, or set CHROMIUM_PATH to a Chromium binary.\n`);
}
process.exit(1);
