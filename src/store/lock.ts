// A cross-process lock that several copies of appwrite-mcp share (one refresh of a rotating
// refresh token, one browser tab, no lost update of state.json), and that survives holders being
// SIGKILLed at any moment.
//
// Design: a lock is a directory of numbered *generations*. Taking the lock is creating the next
// generation's file, which only one process can do: the file is written completely under a unique
// temporary name and then `link(2)`ed to its generation name, which fails with EEXIST when it is
// taken. Taking over from a dead holder is the same step: whoever creates generation g+1 owns the
// lock, everyone else gets EEXIST and waits. That makes the takeover a compare-and-swap on "the
// successor of generation g" instead of "remove the stale file, then create a new one", where two
// waiters could each remove a file they judged stale and the second could remove the first one's
// fresh lock (issue 17: inode numbers, the old check, are reused by ext4 and XFS at once).
//
//   locks/<name>/0000000042        the holder of generation 42: {"pid","hostname","nonce","createdAt"}
//   locks/<name>/0000000042.free   generation 42 was released
//
// A generation is held while its file exists, has no `.free` marker, no higher generation exists,
// and its holder is alive: on this host its pid answers, and it touches the file every
// `heartbeatMs`; one not touched for `staleMs` is taken over (a holder on another host, or one
// frozen that long). Nothing is ever removed that a waiter could still be comparing: the taker of
// generation g+1 collects the files below g, and a waiter that raced on a collected number sees a
// higher generation afterwards and backs off.
//
// A holder that was frozen past `staleMs` and taken over finds out at its next `assertHeld()`; the
// sign-in code asks right before spending a refresh token and before every save.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { link, mkdir, open, readdir, readFile, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, Code } from '../errors.js';

export interface LockOptions {
  /** Give up waiting after this long with AppError STORE_LOCK_TIMEOUT. Default 30 000 ms. */
  timeoutMs?: number;
  /** A generation not touched for this long is taken over. Default 10 000 ms. */
  staleMs?: number;
  /** How often the holder touches its generation file. Default 1000 ms. */
  heartbeatMs?: number;
  /** Stops waiting (rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** What a holder can ask while it holds the lock. */
export interface Lease {
  /** Aborted once the lock is found lost (taken over, or its directory removed). */
  readonly signal: AbortSignal;
  /** Throws AppError STORE_LOCK_LOST unless this process still holds the lock (a few file-system calls). */
  assertHeld(): Promise<void>;
}

export interface LockHandle extends Lease {
  release(): Promise<void>;
}

interface Owner { pid: number; hostname: string; nonce: string; createdAt: number }

const GENERATION = /^(\d{10})$/;
const TEMP_MAX_AGE_MS = 60_000;
/** The directory is tidied when it holds more entries than this. */
const COLLECT_OVER = 12;

/** Generations still held by this process, released on a normal exit (SIGKILL leaves them to staleness). */
const heldHere = new Map<string, number>();
let exitHandlerInstalled = false;

export function lockDir(dir: string, name: string): string {
  return join(dir, 'locks', name.replace(/[^\w.-]+/g, '_'));
}

const generationName = (g: number) => String(g).padStart(10, '0');

export async function acquireLock(dir: string, name: string, options: LockOptions = {}): Promise<LockHandle> {
  const { timeoutMs = 30_000, staleMs = 10_000, heartbeatMs = 1000, signal } = options;
  const path = lockDir(dir, name);
  const deadline = Date.now() + timeoutMs;
  let delay = 10;
  for (;;) {
    signal?.throwIfAborted();
    const entries = await entriesOf(path);
    const top = highest(entries);
    if (top === 0 || (await isVacant(path, entries, top, staleMs))) {
      const mine = await tryTake(path, top + 1);
      if (mine) return hold(path, mine, heartbeatMs);
      continue; // another waiter took that generation: look again at once
    }
    if (Date.now() >= deadline) {
      throw new AppError(Code.LOCK_TIMEOUT, `timed out after ${timeoutMs} ms waiting for lock ${JSON.stringify(name)} (${path})`);
    }
    await sleep(Math.min(delay * (0.75 + Math.random() / 2), Math.max(1, deadline - Date.now())), undefined, { signal }).catch(() => signal?.throwIfAborted());
    delay = Math.min(delay * 1.5, 100);
  }
}

export async function withLock<T>(dir: string, name: string, fn: (lease: Lease) => Promise<T>, options?: LockOptions): Promise<T> {
  const lock = await acquireLock(dir, name, options);
  try {
    return await fn(lock);
  } finally {
    await lock.release();
  }
}

/** The lock's directory listing, the directory made first when there is none. */
async function entriesOf(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(path, { recursive: true, mode: 0o700 });
    return [];
  }
}

function highest(entries: string[]): number {
  let top = 0;
  for (const entry of entries) {
    const m = GENERATION.exec(entry);
    if (m) top = Math.max(top, Number(m[1]));
  }
  return top;
}

/** Generation `g` (the highest) was released, or its holder is gone. */
async function isVacant(path: string, entries: string[], g: number, staleMs: number): Promise<boolean> {
  const file = join(path, generationName(g));
  if (entries.includes(`${generationName(g)}.free`)) return true;
  let owner: Owner;
  let mtimeMs: number;
  try {
    [owner, mtimeMs] = await Promise.all([readFile(file, 'utf8').then((t) => JSON.parse(t) as Owner), stat(file).then((s) => s.mtimeMs)]);
  } catch {
    return false; // collected or replaced under us: look again
  }
  return Date.now() - mtimeMs > staleMs || (owner.hostname === hostname() && !processAlive(owner.pid));
}

/**
 * Creates generation `g` (complete, via link): resolves it when this process now holds the lock,
 * undefined when someone else took `g` or a higher generation exists (this one then is void).
 */
async function tryTake(path: string, g: number): Promise<{ generation: number; nonce: string } | undefined> {
  const nonce = randomBytes(8).toString('hex');
  const owner: Owner = { pid: process.pid, hostname: hostname(), nonce, createdAt: Date.now() };
  const temp = join(path, `tmp-${nonce}`);
  await writeFile(temp, JSON.stringify(owner), { mode: 0o600 });
  try {
    await link(temp, join(path, generationName(g)));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw error;
  } finally {
    await unlink(temp).catch(() => {});
  }
  const entries = await readdir(path);
  if (highest(entries) > g) {
    // We raced on a number already collected: a later generation exists, so ours never counted.
    await unlink(join(path, generationName(g))).catch(() => {});
    return undefined;
  }
  // Collected in batches: most acquisitions leave the directory as it is.
  if (entries.length > COLLECT_OVER) await collect(path, entries, g);
  return { generation: g, nonce };
}

/** Removes what no one can need any more: generations below g-1, their markers, old temp files. */
async function collect(path: string, entries: string[], g: number): Promise<void> {
  await Promise.all(entries.map(async (entry) => {
    const gen = /^(\d{10})(?:\.free)?$/.exec(entry);
    if (gen ? Number(gen[1]) < g - 1 : entry.startsWith('tmp-') && (await isOlderThan(join(path, entry), TEMP_MAX_AGE_MS))) {
      await unlink(join(path, entry)).catch(() => {});
    }
  }));
}

function hold(path: string, mine: { generation: number; nonce: string }, heartbeatMs: number): LockHandle {
  installExitHandler();
  const file = join(path, generationName(mine.generation));
  heldHere.set(file, mine.generation);
  const lost = new AbortController();
  let released = false;
  const assertHeld = async () => {
    if (lost.signal.aborted) throw lost.signal.reason;
    if (!(await stillHeld(path, mine))) {
      heldHere.delete(file);
      lost.abort(new AppError(Code.LOCK_LOST, `the lock ${path} was taken over by another process while this one held it`));
      throw lost.signal.reason;
    }
  };
  const heartbeat = setInterval(() => {
    void assertHeld().then(() => touch(file), () => clearInterval(heartbeat)).catch(() => {});
  }, heartbeatMs);
  heartbeat.unref();
  return {
    signal: lost.signal,
    assertHeld,
    async release() {
      if (released) return;
      released = true;
      clearInterval(heartbeat);
      if (!heldHere.delete(file)) return;
      await markFree(file);
    },
  };
}

/**
 * Our generation is still the highest, still there and not released. (Its number cannot have been
 * taken by another: creating it fails while our file exists, and a number is only reused after it
 * was collected, which happens only below the highest generation.)
 */
async function stillHeld(path: string, mine: { generation: number }): Promise<boolean> {
  try {
    const entries = await readdir(path);
    const name = generationName(mine.generation);
    return highest(entries) === mine.generation && entries.includes(name) && !entries.includes(`${name}.free`);
  } catch {
    return false; // the directory is gone
  }
}

async function markFree(file: string): Promise<void> {
  try {
    await (await open(`${file}.free`, 'wx', 0o600)).close();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOENT') throw error;
  }
}

async function touch(file: string): Promise<void> {
  const now = new Date();
  await utimes(file, now, now);
}

async function isOlderThan(path: string, ms: number): Promise<boolean> {
  return stat(path).then((s) => Date.now() - s.mtimeMs > ms, () => false);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  // Best effort: 'exit' runs on normal exit and process.exit(), not on SIGKILL (the pid check covers that).
  process.on('exit', () => {
    for (const file of heldHere.keys()) {
      try {
        writeFileSync(`${file}.free`, '', { flag: 'wx', mode: 0o600 });
      } catch {
        // already released or gone; nothing more can be done while exiting
      }
    }
  });
}
