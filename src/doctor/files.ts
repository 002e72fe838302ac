// Files doctor reads because a config names them (a cloned repository's .mcp.json, the
// --header-file its entry points at): regular files only, and a bounded amount of each. Opened
// non-blocking, so a FIFO's open returns at once instead of waiting for a writer; then refused,
// as a device or a directory is. "Every check is bounded" (README) holds for what a repo plants.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

export interface BoundedText {
  text: string;
  /** The file holds more than `maxBytes`; `text` is its first `maxBytes`. */
  truncated: boolean;
}

/** The first `maxBytes` of a regular file as UTF-8; an Error "not a regular file" for anything else. */
export async function readRegularFile(path: string, maxBytes: number): Promise<BoundedText> {
  const handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTREG' });
    const buffer = Buffer.alloc(Math.min(stats.size, maxBytes) + 1);
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    const truncated = filled > maxBytes;
    return { text: buffer.subarray(0, Math.min(filled, maxBytes)).toString('utf8'), truncated };
  } finally {
    await handle.close();
  }
}
