// What every command gets, built once by the CLI (src/cli.ts) and injected, as GitHub CLI's Factory
// does: the I/O streams and whether they are terminals, the environment, the HTTP layer, the
// sign-ins store, the clock, the browser opener. No command reads process.env or writes
// process.stdout itself, so each runs in-process in tests with fakes in their place.
import type { Readable, Writable } from 'node:stream';
import { createAuth, type Auth, type Clock } from '../auth/index.js';
import type { HttpClient } from '../http/client.js';
import { createLogger, printable, type Logger } from '../log.js';
import type { StorePreference } from '../store/secrets.js';
import type { SignIns } from '../store/sign-ins.js';

export interface IOStreams {
  stdin: Readable;
  /** Data: JSON-RPC in proxy mode, `--json` output, the token. */
  stdout: Writable;
  /** Everything for people: progress, warnings, errors. */
  stderr: Writable;
  isTTY: { stdin: boolean; stdout: boolean; stderr: boolean };
}

export interface Factory {
  io: IOStreams;
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
  /** A client of the one HTTP layer (the command closes it). */
  http(): HttpClient;
  /** The sign-ins store in the config dir, new secrets going where `store` (or APPWRITE_MCP_STORE) says. */
  signIns(logger: Logger, store?: StorePreference): SignIns;
  clock: Clock;
  /** Opens `url` in the user's browser; false when none could be opened (the caller prints the URL). */
  openBrowser(url: string, logger: Logger): Promise<boolean>;
  /** Calls `handler` on Ctrl-C (SIGINT) until the returned function is called. */
  onInterrupt(handler: () => void): () => void;
}

/** Flags every command takes. */
export interface CommonOptions {
  debug?: boolean;
  /** Warnings and errors only on stderr. */
  quiet?: boolean;
  store?: 'keychain' | 'file';
}

/** The command's logger: on stderr (or `write`), --debug / --quiet and their variables applied. */
export function commandLogger(opts: CommonOptions, f: Factory, write?: (line: string) => void): Logger {
  return createLogger({
    debug: opts.debug || Boolean(f.env.APPWRITE_MCP_DEBUG),
    quiet: opts.quiet || Boolean(f.env.APPWRITE_MCP_QUIET),
    write: write ?? ((line) => void f.io.stderr.write(line)),
  });
}

/** Where new secrets go: `--store`, else APPWRITE_MCP_STORE, else the keychain when it works. */
export function storePreference(store: CommonOptions['store'], env: NodeJS.ProcessEnv): StorePreference {
  return store ?? (env.APPWRITE_MCP_STORE === 'file' || env.APPWRITE_MCP_STORE === 'keychain' ? env.APPWRITE_MCP_STORE : 'auto');
}

/** The sign-in side as a command uses it, over the factory's parts. */
export function authOf(f: Factory, deps: { logger: Logger; signIns: SignIns; http: HttpClient }): Auth {
  return createAuth({ fetch: deps.http.fetch, signIns: deps.signIns, logger: deps.logger, clock: f.clock, openBrowser: (url) => f.openBrowser(url, deps.logger) });
}

/** The clock's time as a Date. */
export function clockDate(clock: Clock): Date {
  return new Date(clock.now());
}

/** Writes a line to a stream, control characters and bidi overrides escaped (text from servers passes here). */
export function line(stream: Writable, text: string): void {
  stream.write(`${printable(text)}\n`);
}
