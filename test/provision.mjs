#!/usr/bin/env node
// Makes a fresh clone ready for `npm run demo` (argument "demo") or `npm test` ("test"): the npm
// packages, and on Debian/Ubuntu the system packages the browser and keychain tests use (Chromium,
// gnome-keyring, D-Bus, secret-tool). Uses only Node built-ins: it runs before `npm ci`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const purpose = process.argv[2] === 'demo' ? 'demo' : 'test';
const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts }).status === 0;
const quiet = (cmd, args) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const has = (cmd) => quiet('sh', ['-c', `command -v ${cmd}`]);

if (!existsSync(join(root, 'node_modules/.package-lock.json'))) {
  process.stderr.write('provision: installing npm packages (npm ci)\n');
  if (!run('npm', ['ci', '--no-audit', '--no-fund'])) process.exit(1);
}

const headless = process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY;
const wanted = purpose === 'test'
  ? [['chromium', '/usr/bin/chromium'], ['gnome-keyring', 'gnome-keyring-daemon'], ['dbus', 'dbus-run-session'], ['libsecret-tools', 'secret-tool']]
  : headless || process.env.CI ? [['chromium', '/usr/bin/chromium']] : [];
const missing = wanted.filter(([, probe]) => (probe.startsWith('/') ? !existsSync(probe) : !has(probe))).map(([pkg]) => pkg);
if (missing.length === 0 || process.env.CHROMIUM_PATH) process.exit(0);

const why = purpose === 'test' ? 'the browser and keychain tests' : 'signing in without a display';
if (has('apt-get')) {
  const sudo = process.getuid?.() === 0 ? [] : quiet('sudo', ['-n', 'true']) ? ['sudo'] : undefined;
  if (sudo) {
    process.stderr.write(`provision: installing ${missing.join(', ')} with apt-get (needed by ${why})\n`);
    const apt = (args) => run(sudo[0] ?? 'apt-get', sudo.length ? ['apt-get', ...args] : args, {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (apt(['update', '-qq']) && apt(['install', '-y', '-qq', '--no-install-recommends', ...missing])) process.exit(0);
    process.exit(1);
  }
  process.stderr.write(`provision: ${why} need ${missing.join(', ')}. Install them with:\n  sudo apt-get install -y ${missing.join(' ')}\n`);
} else {
  process.stderr.write(`provision: ${why} need Chromium${purpose === 'test' ? ', a Secret Service (gnome-keyring) and D-Bus' : ''}; install them, or set CHROMIUM_PATH to a Chromium binary.\n`);
}
process.exit(1);
