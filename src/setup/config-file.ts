// Reading and replacing a client's config file: a backup of the previous content beside it, then
// the new content through a temp file and a rename (so the client never reads half a file), with the
// file's mode kept and symlinks (dotfile managers) followed rather than replaced.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, copyFile, mkdir, open, readFile, realpath, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AppError, Code, errorMessage } from '../errors.js';

export interface ConfigFile {
  path: string;
  exists: boolean;
  /** The content; empty when the file does not exist. */
  text: string;
}

const isCode = (err: unknown, code: string) => (err as NodeJS.ErrnoException)?.code === code;

export async function readConfigFile(path: string): Promise<ConfigFile> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if (isCode(err, 'ENOENT')) return { path, exists: false, text: '' };
    throw new AppError(Code.SETUP_FAILED, `cannot read ${path}: ${errorMessage(err)}`, { cause: err });
  }
  const text = bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(bytes)) {
    throw new AppError(Code.SETUP_FAILED, `cannot edit ${path}: it is not UTF-8 text`, { hint: 'Nothing was changed. Save it as UTF-8, or add the entry by hand.' });
  }
  return { path, exists: true, text };
}

/** `20260102T030405Z`: a timestamp that sorts, for backup names. */
function stamp(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
}

/** Copies `source` to `<path>.<timestamp>.bak` (never overwriting an older backup); returns its path. */
async function backup(source: string, path: string, now: Date): Promise<string> {
  for (let n = 0; ; n++) {
    const target = `${path}.${stamp(now)}${n ? `-${n}` : ''}.bak`;
    try {
      // copyFile keeps the mode, so a private file's backup stays private.
      await copyFile(source, target, constants.COPYFILE_EXCL);
      return target;
    } catch (err) {
      if (!isCode(err, 'EEXIST') || n >= 100) throw err;
    }
  }
}

/**
 * Replaces `file` (as read by readConfigFile) with `text`. Returns where the backup went, when there
 * was a previous file. Refuses when the file changed since it was read (the client wrote it meanwhile).
 */
export async function writeConfigFile(file: ConfigFile, text: string, now = new Date()): Promise<{ backup?: string }> {
  const target = file.exists ? await realpath(file.path) : file.path;
  const mode = file.exists ? (await stat(target)).mode & 0o7777 : undefined;
  await mkdir(dirname(target), { recursive: true });
  const saved = file.exists ? await backup(target, file.path, now) : undefined;
  const temp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await open(temp, 'wx', mode ?? 0o666);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (mode !== undefined && process.platform !== 'win32') await chmod(temp, mode);
    const current = await readFile(target, 'utf8').catch((err) => (isCode(err, 'ENOENT') ? undefined : Promise.reject(err)));
    if (current !== (file.exists ? file.text : undefined)) {
      throw new AppError(Code.SETUP_FAILED, `${file.path} changed while setup was editing it; nothing was written`, { hint: 'Run setup again.' });
    }
    await rename(temp, target);
  } catch (err) {
    await unlink(temp).catch(() => {});
    if (err instanceof AppError) throw err;
    throw new AppError(Code.SETUP_FAILED, `cannot write ${file.path}: ${errorMessage(err)}`, { cause: err, hint: saved ? `The previous content is unchanged (a copy is in ${saved}).` : undefined });
  }
  return { backup: saved };
}
