#!/usr/bin/env node
// Runs a command inside a private D-Bus session with an unlocked gnome-keyring whose keyring lives
// in a temp dir: a real Secret Service that never touches the developer's own keychain. Without
// dbus-run-session or gnome-keyring-daemon the command runs as is (the keychain then fails fast), with
// a warning, or silently with --if-available (for a command that checks for itself, like the demo).
//
// The private daemons are kept apart from the user's own: the keyring's files in a temp
// XDG_DATA_HOME, its control socket in a temp --control-directory (not $XDG_RUNTIME_DIR/keyring, where
// a desktop's own gnome-keyring listens). The D-Bus daemon's own messages ("Failed to set fd limit",
// "Activating service …") go to .test-artifacts/dbus-daemon.log, not into the command's output.
// In the command's environment APPWRITE_MCP_TEST_IN_DBUS=1, and APPWRITE_MCP_OUTER_ENV holds (as JSON,
// null for unset) the variables this changes, as they were outside, for whatever must reach the
// user's desktop (the demo's browser opener).
//
// Usage: node test/with-keyring.mjs [--if-available] <command> [args...]
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const argv = process.argv.slice(2);
const ifAvailable = argv[0] === '--if-available';
const [command, ...args] = ifAvailable ? argv.slice(1) : argv;
const which = (cmd) => {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
};

if (process.env.APPWRITE_MCP_TEST_IN_DBUS || !which('dbus-run-session') || !which('gnome-keyring-daemon')) {
  if (!process.env.APPWRITE_MCP_TEST_IN_DBUS && !ifAvailable) {
    process.stderr.write('warning: dbus-run-session or gnome-keyring-daemon not found: no real Secret Service for this run\n');
  }
  process.exit(spawnSync(command, args, { stdio: 'inherit' }).status ?? 1);
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quote = (s) => `'${s.replaceAll("'", "'\\''")}'`;
const keyringHome = mkdtempSync(join(tmpdir(), 'appwrite-mcp-keyring-'));
const control = join(keyringHome, 'control');
mkdirSync(control, { mode: 0o700 });

// dbus-run-session starts the daemon it is given; this one is dbus-daemon with its output in a log.
const daemonArgs = [];
const dbusDaemon = which('dbus-daemon');
if (dbusDaemon) {
  const log = join(root, '.test-artifacts', 'dbus-daemon.log');
  mkdirSync(dirname(log), { recursive: true });
  writeFileSync(log, '');
  const wrapper = join(keyringHome, 'dbus-daemon');
  writeFileSync(wrapper, `#!/bin/sh\nexec ${quote(dbusDaemon)} "$@" >>${quote(log)} 2>&1\n`);
  chmodSync(wrapper, 0o755);
  daemonArgs.push(`--dbus-daemon=${wrapper}`);
}

const pidFile = join(keyringHome, 'command.pid');
const inner = 'echo $$ > "$APPWRITE_MCP_KEYRING_PIDFILE" && echo -n test-password | gnome-keyring-daemon --unlock --components=secrets --control-directory="$APPWRITE_MCP_KEYRING_CONTROL" >/dev/null && exec "$0" "$@"';
const child = spawn('dbus-run-session', [...daemonArgs, '--', 'sh', '-c', inner, command, ...args], {
  stdio: 'inherit',
  env: {
    ...process.env,
    APPWRITE_MCP_TEST_IN_DBUS: '1',
    APPWRITE_MCP_OUTER_ENV: JSON.stringify({
      DBUS_SESSION_BUS_ADDRESS: process.env.DBUS_SESSION_BUS_ADDRESS ?? null,
      XDG_DATA_HOME: process.env.XDG_DATA_HOME ?? null,
    }),
    APPWRITE_MCP_KEYRING_CONTROL: control,
    APPWRITE_MCP_KEYRING_PIDFILE: pidFile,
    XDG_DATA_HOME: keyringHome,
  },
});
// The command runs as a grandchild (dbus-run-session → sh, which execs it). SIGTERM or SIGHUP sent to
// this process goes on to the command itself (dbus-run-session would die of it and orphan the command);
// Ctrl-C in a terminal reaches the whole process group, so SIGINT is only outlived here. The private
// keyring is deleted once the command has ended, however it ended.
const commandPid = () => {
  try {
    return Number(readFileSync(pidFile, 'utf8').trim()) || undefined;
  } catch {
    return undefined;
  }
};
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
process.on('SIGINT', () => {});
for (const signal of ['SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    const pid = commandPid();
    if (pid && alive(pid)) process.kill(pid, signal);
    else child.kill(signal);
  });
}
child.on('exit', async (code, signal) => {
  const pid = commandPid();
  for (let waited = 0; pid && alive(pid) && waited < 10_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
  rmSync(keyringHome, { recursive: true, force: true });
  process.exit(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1));
});
