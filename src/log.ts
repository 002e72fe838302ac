// stderr logger. stdout belongs to JSON-RPC in proxy mode, so nothing here ever writes to it.
// Every line passes through redact(): known secrets are replaced wherever they appear, and
// anything shaped like a token (Bearer values, JWTs, token fields in JSON or form bodies) is masked;
// then through printable(): no control character or bidi override from a server reaches a terminal.

const knownSecrets = new Set<string>();

/** Remember a secret so that it is masked in every later log line, whatever its shape. */
export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= 8) knownSecrets.add(value);
}

const patterns: Array<[RegExp, string]> = [
  [/(Bearer\s+)[^\s",]+/gi, '$1[redacted]'],
  // `Authorization: DPoP <token>` (RFC 9449 §7.1); only a token-shaped value, so that prose ("DPoP key") stays readable.
  [/(\bDPoP\s+)[\w\-.~+/]{20,}=*/g, '$1[redacted]'],
  [/eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*/g, '[redacted-jwt]'],
  [/("(?:access_token|refresh_token|id_token|code|code_verifier|client_secret|token)"\s*:\s*")[^"]*"/g, '$1[redacted]"'],
  [/\b((?:access_token|refresh_token|id_token|code|code_verifier|client_secret|token)=)[^&\s"]+/g, '$1[redacted]'],
];

export function redact(text: string): string {
  let out = text;
  for (const secret of knownSecrets) {
    if (out.includes(secret)) out = out.split(secret).join('[redacted]');
  }
  for (const [re, rep] of patterns) out = out.replace(re, rep);
  return out;
}

/**
 * C0 controls but tab and line feed (ESC starts CSI and OSC sequences: clearing the screen, moving
 * the cursor, OSC 52 writing the clipboard; CR rewrites a line; BEL ends an OSC), DEL, the C1 range
 * U+0080–U+009F (U+009B is a one-character CSI, U+009D an OSC, for terminals that take 8-bit
 * controls), and the Unicode bidi controls (U+202E and kin reorder what is shown: "Trojan Source").
 */
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * `text` made safe to write to a terminal or a log: every character of UNPRINTABLE is written as
 * its `\uXXXX` escape, visibly and inertly. The escape is JSON's own, so JSON text (`--json`
 * output) stays valid JSON with the same value. Applied where text leaves the process for people:
 * the logger, `line()` of the commands, the login reporters and the CLI's error printer.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A string a server sent (an `error_description`, an account name), for quoting inside one line of
 * ours: printable(), and its line breaks escaped too, so that it cannot start a line that looks
 * like one of ours ("appwrite-mcp: ✓ Signed in …").
 */
export function serverText(text: string): string {
  return printable(text).replace(/\n/g, '\\u000a');
}

/**
 * What is wrong with JSON that did not parse, without quoting it: some of V8's messages quote the
 * input ("Unexpected token 'x', \"…\" is not valid JSON"), and the input may hold secrets (a
 * client secret expanded from `${VAR}`, a secrets file). Kept: V8's description when it comes with
 * a position (those name the syntax only: "Expected ',' or '}' after property value"), and where.
 */
export function jsonSyntaxError(err: unknown, text: string): string {
  const message = err instanceof Error ? err.message : '';
  const positioned = /^(.*?) (in|after) JSON at position (\d+)/.exec(message);
  if (!positioned) return /Unexpected end of JSON input/.test(message) ? 'it ends too early' : 'an unexpected character or value';
  const position = Number(positioned[3]);
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  // Older V8s said "Unexpected token x in JSON at position n": the token is the input's.
  const what = /token/i.test(positioned[1]!) ? 'an unexpected character' : positioned[2] === 'after' ? `${positioned[1]} after the JSON` : positioned[1];
  return `${what} at line ${line}, column ${position - before.lastIndexOf('\n')}`;
}

export interface Logger {
  debugEnabled: boolean;
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** `quiet`: warnings and errors only (for clients that show stderr to the user); `debug` wins over it. */
export function createLogger(opts: { debug?: boolean; quiet?: boolean; prefix?: string; write?: (line: string) => void } = {}): Logger {
  const write = opts.write ?? ((line: string) => void process.stderr.write(line));
  const prefix = opts.prefix ?? 'appwrite-mcp';
  const emit = (level: string, msg: string) => write(`${prefix}${level ? ` ${level}` : ''}: ${printable(redact(msg))}\n`);
  const debugEnabled = Boolean(opts.debug);
  return {
    debugEnabled,
    debug: (msg) => { if (debugEnabled) emit('[debug]', msg); },
    info: (msg) => { if (!opts.quiet || debugEnabled) emit('', msg); },
    warn: (msg) => emit('warning', msg),
    error: (msg) => emit('error', msg),
  };
}

/** A logger that drops everything (for library use and tests). */
export const silentLogger: Logger = { debugEnabled: false, debug() {}, info() {}, warn() {}, error() {} };
