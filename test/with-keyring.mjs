#!/usr/bin/env node
// Runs a command inside a private D-Bus session with an unlocked gnome-keyring whose keyring lives
// in a temp dir: a real Secret Service that never touches the developer's own keychain. Without
// dbus-run-session or gnome-keyring-daemon the command runs as is (the keychain then fails fast).
// Usage: node test/with-keyring.mjs <command> [args...]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [command, ...args] = process.argv.slice(2);
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

if (process.env.APPWRITE_MCP_TEST_IN_DBUS || !has('dbus-run-session') || !has('gnome-keyring-daemon')) {
  if (!process.env.APPWRITE_MCP_TEST_IN_DBUS) {
    process.stderr.write('warning: dbus-run-session or gnome-keyring-daemon not found: no real Secret Service for this run\n');
  }
  process.exit(spawnSync(command, args, { stdio: 'inherit' }).status ?? 1);
}
const keyringHome = mkdtempSync(join(tmpdir(), 'appwrite-mcp-keyring-'));
const inner = 'echo -n test-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec "$0" "$@"';
const r = spawnSync('dbus-run-session', ['--', 'sh', '-c', inner, command, ...args], {
  stdio: 'inherit',
  env: { ...process.env, APPWRITE_MCP_TEST_IN_DBUS: '1', XDG_DATA_HOME: keyringHome },
});
rmSync(keyringHome, { recursive: true, force: true });
process.exit(r.status ?? 1);
