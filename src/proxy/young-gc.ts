// Frees the read buffers a large response leaves behind while it is still arriving (issue
// "Hardening", item 12: peak ≤ idle + 3 × the largest message).
//
// node:http copies each piece of a response body out of the socket's read buffer, so a 5 MB answer
// leaves 5 MB of spent read buffers. They are Buffers: outside V8's heap, freed only when a
// collection finds their small JS handles dead, and gathering one large message allocates almost
// nothing on the heap, so no collection comes until it is over. A young-generation collection
// (a scavenge: about a millisecond, the handles are young) every COLLECT_EVERY_BYTES of one large
// message keeps those buffers to that much. Small messages never get here: their strings drive
// V8's own collections.
/** Bytes of one large message between two scavenges. */
const COLLECT_EVERY_BYTES = 2 * 1024 * 1024;

type Gc = (options: { type: 'minor' }) => void;

/** undefined: not looked up yet; null: this runtime has no way to ask (nothing is done then). */
let gc: Gc | null | undefined;
let sinceLast = 0;

/** `bytes` more of a message of BYTES_PATH_MIN or more arrived from the server. */
export function largeMessageBytes(bytes: number): void {
  sinceLast += bytes;
  if (sinceLast < COLLECT_EVERY_BYTES) return;
  sinceLast = 0;
  (gc ??= lookUpGc())?.({ type: 'minor' });
}

/**
 * V8's `gc` function, exposed after start-up the way Jest's leak detector does it: setting the flag
 * makes a new context get the function (the main context stays as it was). Looked up on the first
 * large message only, node:v8 and node:vm included, so that a proxy that never sees one pays nothing.
 */
function lookUpGc(): Gc | null {
  try {
    process.getBuiltinModule('node:v8').setFlagsFromString('--expose-gc');
    const found: unknown = process.getBuiltinModule('node:vm').runInNewContext('gc');
    return typeof found === 'function' ? (found as Gc) : null;
  } catch {
    return null;
  }
}
