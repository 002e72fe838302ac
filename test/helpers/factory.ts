// A command factory for in-process tests: the real HTTP layer, the real sign-ins store on a temp
// config dir (the 0600 file, or an in-memory keychain), streams that collect what the command
// writes, and a browser opener that hands each URL to the test (which plays the user, or not).
import { PassThrough, Readable } from 'node:stream';
import { systemClock, type Clock } from '../../src/auth/clock.js';
import type { Factory } from '../../src/commands/factory.js';
import { HttpClient } from '../../src/http/client.js';
import type { Logger } from '../../src/log.js';
import { SignIns } from '../../src/store/sign-ins.js';
import type { FakeKeychain } from './fakes.js';

export interface TestFactory {
  f: Factory;
  stdout(): string;
  stderr(): string;
  /** Every URL the command asked to open in a browser. */
  opened: string[];
  /** Sends Ctrl-C to the command. */
  interrupt(): void;
}

export interface TestFactoryOptions {
  dir: string;
  env?: NodeJS.ProcessEnv;
  /** An in-memory keychain; without one, secrets go to the 0600 file (no keychain is reachable). */
  keychain?: FakeKeychain;
  clock?: Clock;
  /** What stdin carries (a pipe, not a terminal): text, or a stream the test writes to. */
  stdin?: string | Readable;
  /** Where new secrets go when the command does not say: default the keychain given, else the file. */
  storePreference?: 'auto' | 'keychain' | 'file';
  /** Plays the user when the command opens a URL; false (default true): "no browser could be opened". */
  browser?: (url: string) => unknown;
  browserOpens?: boolean;
}

export function testFactory(o: TestFactoryOptions): TestFactory {
  let out = '';
  let err = '';
  const stdout = new PassThrough().on('data', (d) => (out += d));
  const stderr = new PassThrough().on('data', (d) => (err += d));
  const env: NodeJS.ProcessEnv = { APPWRITE_MCP_CONFIG_DIR: o.dir, CI: 'true', DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/appwrite-mcp-test-bus', ...o.env };
  const opened: string[] = [];
  const interrupts = new Set<() => void>();
  const f: Factory = {
    io: { stdin: typeof o.stdin === 'object' ? o.stdin : Readable.from(o.stdin === undefined ? [] : [o.stdin]), stdout, stderr, isTTY: { stdin: false, stdout: false, stderr: false } },
    env,
    platform: 'linux',
    http: () => new HttpClient(env),
    signIns: (logger: Logger, store) => new SignIns({
      dir: o.dir, logger,
      storePreference: store && store !== 'auto' ? store : o.storePreference ?? (o.keychain ? 'keychain' : 'file'),
      keychain: o.keychain ? { openEntry: o.keychain.openEntry, timeoutMs: 200 } : { timeoutMs: 500, env },
      now: () => (o.clock ?? systemClock).now(),
    }),
    clock: o.clock ?? systemClock,
    openBrowser: async (url) => {
      opened.push(url);
      if (o.browser) void Promise.resolve().then(() => o.browser!(url)).catch(() => {});
      return o.browserOpens ?? true;
    },
    onInterrupt: (handler) => {
      interrupts.add(handler);
      return () => void interrupts.delete(handler);
    },
  };
  return { f, stdout: () => out, stderr: () => err, opened, interrupt: () => { for (const h of interrupts) h(); } };
}
