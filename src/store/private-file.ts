// Files only the current user may read: directory 0700, file 0600, replaced atomically so a
// concurrent reader sees either the old or the new content, never half of it.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../log.js';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;
// Windows has no POSIX modes: chmod there only toggles read-only, so nothing to check or fix.
const posixModes = process.platform !== 'win32';

/** Creates `dir` (0700) if needed and tightens it when it is readable by others. */
export async function ensurePrivateDir(dir: string, logger: Logger): Promise<void> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  await tightenMode(dir, PRIVATE_DIR_MODE, logger);
}

/** Tightens `path` to `mode` when group or others have any access to it; missing files are fine. */
export async function tightenMode(path: string, mode: number, logger: Logger): Promise<void> {
  if (!posixModes) return;
  let current: number;
  try {
    current = (await stat(path)).mode & 0o777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if ((current & 0o077) === 0) return;
  logger.warn(`${path} was accessible by other users (mode ${current.toString(8).padStart(4, '0')}); changed it to ${mode.toString(8).padStart(4, '0')}`);
  await chmod(path, mode);
}

/** Writes `content` to `path` (mode 0600) via a 0600 temp file and rename. */
export async function writePrivateFile(path: string, content: string, logger: Logger): Promise<void> {
  await ensurePrivateDir(dirname(path), logger);
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await open(temp, 'wx', PRIVATE_FILE_MODE);
    try {
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
}
