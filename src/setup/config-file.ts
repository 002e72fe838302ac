// Reading and replacing a client's config file. Where: the real file (a symlinked config, as
// dotfile managers make, is written through; in a project, a symlink that leaves the project is
// refused). How: a private backup of the previous content beside the real file (the newest few
// kept), then the new content through a temp file and a rename, so the client never reads half a
// file; the file's mode is kept.
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, open, readFile, readdir, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { AppError, Code, errorMessage } from '../errors.js';

export interface ConfigFile {
  /** The path as the client names it. */
  path: string;
  /** The file actually read and written: `path` with every symlink resolved. */
  real: string;
  exists: boolean;
  /** The content; empty when the file does not exist. */
  text: string;
}

/** How many backups of one config file are kept; older ones are deleted. */
export const BACKUPS_KEPT = 5;

const isCode = (err: unknown, code: string) => (err as NodeJS.ErrnoException)?.code === code;

/** `path` with its symlinks resolved, as far as it exists (a new file's missing folders appended). */
async function realPathOf(path: string): Promise<string> {
  let existing = path;
  const missing: string[] = [];
  for (;;) {
    try {
      return join(await realpath(existing), ...missing);
    } catch (err) {
      if (!isCode(err, 'ENOENT') && !isCode(err, 'ENOTDIR')) throw err;
      // A dangling symlink: lstat finds it where realpath does not.
      if (await lstat(existing).then((s) => s.isSymbolicLink(), () => false)) {
        throw new AppError(Code.SETUP_FAILED, `${existing} is a symlink to a missing file; nothing was changed`, { hint: 'Remove the symlink or create what it points to, then run setup again.' });
      }
      const parent = dirname(existing);
      if (parent === existing) return path;
      missing.unshift(basename(existing));
      existing = parent;
    }
  }
}

/**
 * The real file behind `path`. With `projectRoot`, a path whose real location is outside the
 * project (a cloned repository's `.vscode/mcp.json` symlinked to `~/.docker/config.json`) is refused.
 */
export async function resolveConfigPath(path: string, projectRoot?: string): Promise<string> {
  const real = await realPathOf(path);
  if (projectRoot !== undefined) {
    const root = await realPathOf(resolve(projectRoot));
    const inside = relative(root, real);
    if (inside.startsWith('..') || isAbsolute(inside)) {
      throw new AppError(Code.SETUP_FAILED, `${path} is a symlink to ${real}, outside the project ${root}; nothing was changed`, {
        hint: 'setup edits only files inside the project for --project. Replace the symlink with a real file, or edit the file by hand.',
      });
    }
  }
  return real;
}

export async function readConfigFile(path: string, real: string): Promise<ConfigFile> {
  let bytes: Buffer;
  try {
    bytes = await readFile(real);
  } catch (err) {
    if (isCode(err, 'ENOENT')) return { path, real, exists: false, text: '' };
    throw new AppError(Code.SETUP_FAILED, `cannot read ${real}: ${errorMessage(err)}`, { cause: err });
  }
  const text = bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(bytes)) {
    throw new AppError(Code.SETUP_FAILED, `cannot edit ${real}: it is not UTF-8 text`, { hint: 'Nothing was changed. Save it as UTF-8, or add the entry by hand.' });
  }
  return { path, real, exists: true, text };
}

/** `20260102T030405Z`: a timestamp that sorts, for backup names. */
function stamp(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
}

const BACKUP = (name: string) => new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d{8}T\\d{6}Z)(?:-(\\d+))?\\.bak$`);

/** The backups of `real` there are, oldest first: `{ file, stamp, n }` from `<name>.<stamp>[-n].bak`. */
async function backupsOf(real: string): Promise<Array<{ file: string; stamp: string; n: number }>> {
  const pattern = BACKUP(basename(real));
  return (await readdir(dirname(real)))
    .map((file) => ({ file, m: pattern.exec(file) }))
    .filter((b): b is { file: string; m: RegExpExecArray } => b.m !== null)
    .map(({ file, m }) => ({ file, stamp: m[1]!, n: Number(m[2] ?? 0) }))
    .sort((a, b) => a.stamp.localeCompare(b.stamp) || a.n - b.n);
}

/**
 * Writes `text` (the previous content) to `<real>.<timestamp>[-n].bak`, mode 0600 (it may hold other
 * servers' secrets), after every older backup (n counts up within a second, never reusing a name);
 * then deletes all but the newest BACKUPS_KEPT and makes the kept ones private.
 */
async function backup(real: string, text: string, now: Date): Promise<string> {
  const at = stamp(now);
  const before = await backupsOf(real);
  let n = Math.max(-1, ...before.filter((b) => b.stamp === at).map((b) => b.n)) + 1;
  let target = '';
  while (!target) {
    const candidate = `${real}.${at}${n ? `-${n}` : ''}.bak`;
    try {
      const handle = await open(candidate, 'wx', 0o600);
      try {
        await handle.writeFile(text, 'utf8');
      } finally {
        await handle.close();
      }
      target = candidate;
    } catch (err) {
      if (!isCode(err, 'EEXIST') || n >= 10_000) throw err;
      n++;
    }
  }
  const all = await backupsOf(real);
  for (const [i, b] of all.entries()) {
    const path = join(dirname(real), b.file);
    // Backups written before this rule are deleted when there are too many, or made private.
    if (i < all.length - BACKUPS_KEPT) await unlink(path).catch(() => {});
    else if (process.platform !== 'win32') await chmod(path, 0o600).catch(() => {});
  }
  return target;
}

/**
 * Replaces `file` (as read by readConfigFile) with `text`. Returns where the backup went, when there
 * was a previous file. Refuses when the file changed since it was read (the client wrote it meanwhile).
 */
export async function writeConfigFile(file: ConfigFile, text: string, now = new Date()): Promise<{ backup?: string }> {
  const target = file.real;
  const mode = file.exists ? (await stat(target)).mode & 0o7777 : undefined;
  await mkdir(dirname(target), { recursive: true });
  const saved = file.exists ? await backup(target, file.text, now) : undefined;
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
      throw new AppError(Code.SETUP_FAILED, `${file.real} changed while setup was editing it; nothing was written`, { hint: 'Run setup again.' });
    }
    await rename(temp, target);
  } catch (err) {
    await unlink(temp).catch(() => {});
    if (err instanceof AppError) throw err;
    throw new AppError(Code.SETUP_FAILED, `cannot write ${file.real}: ${errorMessage(err)}`, { cause: err, hint: saved ? `The previous content is unchanged (a copy is in ${saved}).` : undefined });
  }
  return { backup: saved };
}
