// Why this exists: on Linux, @napi-rs/keyring connects to D-Bus synchronously inside
// `new AsyncEntry()`. A session bus that accepts the connection and never answers would freeze
// the event loop there, where no timeout can fire. This probe asks the same question without
// blocking: does the session bus answer, and does the Secret Service (org.freedesktop.secrets)
// answer a Ping? Only a tiny subset of the D-Bus wire protocol is spoken.
import { connect } from 'node:net';

export type SecretServiceProbeFailure = 'no-bus' | 'no-service';

export class SecretServiceProbeError extends Error {
  constructor(readonly reason: SecretServiceProbeFailure, message: string) {
    super(message);
    this.name = 'SecretServiceProbeError';
  }
}

/** The unix socket of the session bus, or undefined when the address is not a unix socket we can probe. */
export function sessionBusSocketPath(env: NodeJS.ProcessEnv): string | undefined {
  const address = env.DBUS_SESSION_BUS_ADDRESS ?? (env.XDG_RUNTIME_DIR ? `unix:path=${env.XDG_RUNTIME_DIR}/bus` : undefined);
  for (const candidate of address?.split(';') ?? []) {
    if (!candidate.startsWith('unix:')) continue;
    const params = new Map(candidate.slice(5).split(',').map((kv) => {
      const eq = kv.indexOf('=');
      return [kv.slice(0, eq), decodeURIComponent(kv.slice(eq + 1))] as const;
    }));
    if (params.get('path')) return params.get('path');
    if (params.get('abstract')) return `\0${params.get('abstract')}`;
  }
  return undefined;
}

const HELLO_SERIAL = 1;
const PING_SERIAL = 2;

/** Resolves when the Secret Service answers a Ping on the session bus at `socketPath`. */
export function probeSecretService(socketPath: string, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let buffer = Buffer.alloc(0);
    let authenticated = false;
    const finish = (error?: Error) => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      if (error) reject(error); else resolve();
    };
    const onAbort = () => finish(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort);

    socket.on('connect', () => {
      const uid = Buffer.from(String(process.getuid?.() ?? 0)).toString('hex');
      socket.write(`\0AUTH EXTERNAL ${uid}\r\n`);
    });
    socket.on('error', (err) => finish(new SecretServiceProbeError('no-bus', `cannot connect to the D-Bus session bus at ${JSON.stringify(socketPath)}: ${err.message}`)));
    socket.on('close', () => finish(new SecretServiceProbeError('no-bus', 'the D-Bus session bus closed the connection')));
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!authenticated) {
        const eol = buffer.indexOf('\r\n');
        if (eol < 0) return;
        const line = buffer.subarray(0, eol).toString();
        buffer = buffer.subarray(eol + 2);
        if (!line.startsWith('OK ')) return finish(new SecretServiceProbeError('no-bus', `the D-Bus session bus refused authentication: ${JSON.stringify(line)}`));
        authenticated = true;
        socket.write(Buffer.concat([
          Buffer.from('BEGIN\r\n'),
          methodCall(HELLO_SERIAL, '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'Hello', 'org.freedesktop.DBus'),
          methodCall(PING_SERIAL, '/org/freedesktop/secrets', 'org.freedesktop.DBus.Peer', 'Ping', 'org.freedesktop.secrets'),
        ]));
      }
      for (let message = takeMessage(); message; message = takeMessage()) {
        if (message.replySerial !== PING_SERIAL) continue;
        // Any answer from the service itself (even "unknown method") proves it is there and responsive.
        const missing = message.errorName === 'org.freedesktop.DBus.Error.ServiceUnknown' || message.errorName === 'org.freedesktop.DBus.Error.NameHasNoOwner';
        return finish(missing ? new SecretServiceProbeError('no-service', `no Secret Service on D-Bus (${message.errorName})`) : undefined);
      }
    });

    function takeMessage(): ReplyHeader | undefined {
      if (buffer.length < 16) return undefined;
      const le = buffer[0] === 0x6c; // 'l'
      const u32 = (at: number) => (le ? buffer.readUInt32LE(at) : buffer.readUInt32BE(at));
      const fieldsEnd = 16 + u32(12);
      const total = align(fieldsEnd, 8) + u32(4);
      if (buffer.length < total) return undefined;
      const header = readReplyHeader(buffer.subarray(0, fieldsEnd), u32);
      buffer = buffer.subarray(total);
      return header;
    }
  });
}

interface ReplyHeader { replySerial?: number; errorName?: string }

const align = (n: number, to: number) => Math.ceil(n / to) * to;

function readReplyHeader(message: Buffer, u32: (at: number) => number): ReplyHeader {
  const header: ReplyHeader = {};
  let at = 16;
  while (at < message.length) {
    at = align(at, 8);
    const code = message[at];
    const signature = String.fromCharCode(message[at + 2]);
    at += 4; // code, signature length (always 1 here), signature char, nul
    if (signature === 'u') {
      at = align(at, 4);
      if (code === 5) header.replySerial = u32(at);
      at += 4;
    } else if (signature === 'g') {
      at += message[at] + 2;
    } else { // 's' or 'o'
      at = align(at, 4);
      const length = u32(at);
      if (code === 4) header.errorName = message.toString('utf8', at + 4, at + 4 + length);
      at += 4 + length + 1;
    }
  }
  return header;
}

/** A little-endian METHOD_CALL with no body. */
function methodCall(serial: number, path: string, iface: string, member: string, destination: string): Buffer {
  const bytes: number[] = [];
  const pad = (to: number) => { while (bytes.length % to) bytes.push(0); };
  const u32 = (v: number) => { pad(4); bytes.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff); };
  const field = (code: number, signature: 'o' | 's', value: string) => {
    pad(8);
    bytes.push(code, 1, signature.charCodeAt(0), 0);
    const utf8 = Buffer.from(value);
    u32(utf8.length);
    bytes.push(...utf8, 0);
  };
  bytes.push(0x6c, 1, 0, 1); // little-endian, METHOD_CALL, no flags, protocol version 1
  u32(0); // body length
  u32(serial);
  u32(0); // header fields length, patched below
  field(1, 'o', path);
  field(2, 's', iface);
  field(3, 's', member);
  field(6, 's', destination);
  const fieldsLength = bytes.length - 16;
  pad(8);
  const out = Buffer.from(bytes);
  out.writeUInt32LE(fieldsLength, 12);
  return out;
}
