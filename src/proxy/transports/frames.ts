// From the bytes of one server message (an SSE event's data, a JSON body) to frames: a large one that
// is one plain message on one line goes on as its bytes, never decoded (see message-bytes.ts); the
// rest is decoded and parsed, a batch split into its members.
import { asSingleLine, parseMessage, type JsonRpcMessage } from '../jsonrpc.js';
import { BYTES_PATH_MIN, MessageBytes } from '../message-bytes.js';
import { scanMessage } from '../message-scan.js';
import type { Frame } from './transport.js';

/** The frames in `data`; `notJson` is told when it is not JSON at all (the data is then dropped). */
export function framesOf(data: Buffer | MessageBytes, notJson: () => void): Frame[] {
  if (data.length >= BYTES_PATH_MIN) {
    const bytes = data instanceof MessageBytes ? data : new MessageBytes([data]);
    const message = bytes.pieces.some((p) => p.includes(0x0a) || p.includes(0x0d)) ? undefined : scanMessage(bytes);
    if (message) return [{ line: trimmed(bytes), message }];
  }
  const line = asSingleLine(data instanceof MessageBytes ? data.text() : data.toString('utf8')).trim();
  if (!line) return [];
  let parsed: unknown;
  try {
    parsed = parseMessage(line);
  } catch {
    notJson();
    return [];
  }
  if (Array.isArray(parsed)) return parsed.filter(isObject).map((item) => ({ line: JSON.stringify(item), message: item }));
  return isObject(parsed) ? [{ line, message: parsed }] : [];
}

function isObject(value: unknown): value is JsonRpcMessage {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The bytes without JSON whitespace before and after the message (views, no copy). */
function trimmed(bytes: MessageBytes): MessageBytes {
  const pieces = bytes.pieces.filter((p) => p.length > 0);
  const space = (c: number | undefined) => c === 0x20 || c === 0x09;
  while (pieces.length && space(pieces[0]![0])) pieces[0] = pieces[0]!.subarray(1);
  while (pieces.length && space(pieces.at(-1)!.at(-1))) pieces[pieces.length - 1] = pieces.at(-1)!.subarray(0, -1);
  return pieces.length === bytes.pieces.length && pieces.every((p, i) => p === bytes.pieces[i]) ? bytes : new MessageBytes(pieces.filter((p) => p.length > 0));
}
