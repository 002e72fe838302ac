// stderr logger. stdout belongs to JSON-RPC in proxy mode, so nothing here ever writes to it.
// Every line passes through redact(): known secrets are replaced wherever they appear, and
// anything shaped like a token (Bearer values, JWTs, token fields in JSON or form bodies) is masked.

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
  const emit = (level: string, msg: string) => write(`${prefix}${level ? ` ${level}` : ''}: ${redact(msg)}\n`);
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
