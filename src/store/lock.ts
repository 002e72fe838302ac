// A cross-process lock built on O_EXCL file creation, so that several proxies started at once
// share one sign-in and spend a rotating refresh token once. The holder touches the lock file
// every `heartbeatMs`; a lock whose holder died (pid gone on this host) or stopped touching it
// for `staleMs` is taken over by the next waiter.
import { randomBytes } from 'node:crypto';
import { statSync, unlinkSync } from 'node:fs';
import { link, mkdir, open, readFile, rename, stat, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, Code } from '../errors.js';

export interface LockOptions {
  /** Give up waiting after this long with AppError LOCK_TIMEOUT. Default 30 000 ms. */
  timeoutMs?: number;
  /** A lock not touched for this long is taken over. Default 10 000 ms. */
  staleMs?: number;
  /** How often the holder touches the lock file. Default 1000 ms. */
  heartbeatMs?: number;
  /** Stops waiting (rejects with the signal's reason). */
  signal?: AbortSignal;
}

export interface LockHandle {
  /** Aborted if the lock is lost while held (its file was removed or taken over). */
  readonly signal: AbortSignal;
  release(): Promise<void>;
}

function lockTimeout(lockName: string, path: string, timeoutMs: number): AppError {
  return new AppError(Code.LOCK_TIMEOUT, `timed out after ${timeoutMs} ms waiting for lock ${JSON.stringify(lockName)} (${path})`);
}

interface LockOwner { pid: number; hostname: string; createdAt: number }

/** Lock files still held by this process, by path → inode, removed on exit if the process dies holding them. */
const heldLocks = new Map<string, number>();
let exitHandlerInstalled = false;

export function lockPath(dir: string, name: string): string {
  return join(dir, 'locks', `${name.replace(/[^\w.-]+/g, '_')}.lock`);
}

export async function acquireLock(dir: string, name: string, options: LockOptions = {}): Promise<LockHandle> {
  const { timeoutMs = 30_000, staleMs = 10_000, heartbeatMs = 1000, signal } = options;
  const path = lockPath(dir, name);
  await mkdir(join(dir, 'locks'), { recursive: true, mode: 0o700 });
  const deadline = Date.now() + timeoutMs;
  let delay = 20;
  for (;;) {
    signal?.throwIfAborted();
    const inode = await tryCreate(path);
    if (inode !== undefined) return hold(path, inode, heartbeatMs);
    if (await removeIfStale(path, staleMs)) continue;
    if (Date.now() >= deadline) throw lockTimeout(name, path, timeoutMs);
    await sleep(Math.min(delay * (0.75 + Math.random() / 2), deadline - Date.now()), undefined, { signal }).catch(() => signal?.throwIfAborted());
    delay = Math.min(delay * 1.5, 100);
  }
}

export async function withLock<T>(dir: string, name: string, fn: (lock: LockHandle) => Promise<T>, options?: LockOptions): Promise<T> {
  const lock = await acquireLock(dir, name, options);
  try {
    return await fn(lock);
  } finally {
    await lock.release();
  }
}

/** Creates the lock file exclusively; resolves its inode, or undefined when someone else holds it. */
async function tryCreate(path: string): Promise<number | undefined> {
  let handle;
  try {
    handle = await open(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw error;
  }
  try {
    const owner: LockOwner = { pid: process.pid, hostname: hostname(), createdAt: Date.now() };
    await handle.writeFile(JSON.stringify(owner));
    return (await handle.stat()).ino;
  } finally {
    await handle.close();
  }
}

function hold(path: string, inode: number, heartbeatMs: number): LockHandle {
  installExitHandler();
  heldLocks.set(path, inode);
  const lost = new AbortController();
  const heartbeat = setInterval(async () => {
    try {
      if ((await stat(path)).ino !== inode) throw new Error('replaced');
      const now = new Date();
      await utimes(path, now, now);
    } catch {
      clearInterval(heartbeat);
      heldLocks.delete(path);
      lost.abort(new Error(`lock ${JSON.stringify(path)} was lost while held`));
    }
  }, heartbeatMs);
  heartbeat.unref();
  let released = false;
  return {
    signal: lost.signal,
    async release() {
      if (released) return;
      released = true;
      clearInterval(heartbeat);
      if (heldLocks.get(path) !== inode) return;
      heldLocks.delete(path);
      await unlinkIfSameFile(path, inode);
    },
  };
}

/**
 * Removes the lock at `path` when its holder is gone. Two waiters may both judge it stale: each
 * renames it away (only one rename can win), then checks that what it moved is the file it judged,
 * and puts back a fresh lock it moved by mistake.
 */
async function removeIfStale(path: string, staleMs: number): Promise<boolean> {
  let judged;
  try {
    judged = await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
  const owner = await readOwner(path);
  const touchedLongAgo = Date.now() - judged.mtimeMs > staleMs;
  if (!touchedLongAgo && !(owner && holderIsDead(owner))) return false;

  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true; // another waiter removed it
    throw error;
  }
  if ((await stat(aside)).ino !== judged.ino) await link(aside, path).catch(() => {});
  await unlink(aside).catch(() => {});
  return true;
}

async function readOwner(path: string): Promise<LockOwner | undefined> {
  try {
    const owner = JSON.parse(await readFile(path, 'utf8')) as Partial<LockOwner>;
    return typeof owner.pid === 'number' && typeof owner.hostname === 'string' ? (owner as LockOwner) : undefined;
  } catch {
    return undefined; // being written, or gone: judge by mtime alone
  }
}

function holderIsDead(owner: LockOwner): boolean {
  if (owner.hostname !== hostname()) return false; // cannot see other hosts' processes
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

async function unlinkIfSameFile(path: string, inode: number): Promise<void> {
  try {
    if ((await stat(path)).ino === inode) await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  // Best effort: 'exit' runs on normal exit and process.exit(), not on SIGKILL (staleness covers that).
  process.on('exit', () => {
    for (const [path, inode] of heldLocks) {
      try {
        if (statSync(path).ino === inode) unlinkSync(path);
      } catch {
        // already gone, or nothing more can be done while exiting
      }
    }
  });
}
