import { readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireLock, lockPath, withLock } from '../../src/store/lock.js';
import { AppError } from '../../src/errors.js';
import { makeTempDir, runFixture, spawnFixture } from './helpers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); });
async function tempDir() { const t = await makeTempDir(); cleanups.push(t.cleanup); return t.dir; }

describe('lock', () => {
  it('is exclusive within one process and released after use', async () => {
    const dir = await tempDir();
    const started = performance.now();
    const first = await acquireLock(dir, 'a');
    const uncontendedMs = performance.now() - started;
    await expect(acquireLock(dir, 'a', { timeoutMs: 150 })).rejects.toMatchObject({ code: 'STORE_LOCK_TIMEOUT' });
    await first.release();
    await expect(stat(lockPath(dir, 'a'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await withLock(dir, 'a', async () => 42)).toBe(42);
    console.info(`uncontended acquire: ${uncontendedMs.toFixed(1)} ms`);
  });

  it('names the lock in its timeout error and honours an AbortSignal', async () => {
    const dir = await tempDir();
    const held = await acquireLock(dir, 'sign-in https://x/mcp');
    cleanups.push(() => held.release());
    const error = await acquireLock(dir, 'sign-in https://x/mcp', { timeoutMs: 100 }).catch((e) => e);
    expect(error).toMatchObject({ code: 'STORE_LOCK_TIMEOUT' });
    expect(error.message).toContain('"sign-in https://x/mcp"');
    const reason = new Error('stop');
    const controller = new AbortController();
    const aborted = acquireLock(dir, 'sign-in https://x/mcp', { signal: controller.signal });
    setTimeout(() => controller.abort(reason), 50);
    await expect(aborted).rejects.toBe(reason);
  });

  it('keeps a long-held lock fresh with heartbeats, and signals when it is lost', async () => {
    const dir = await tempDir();
    const held = await acquireLock(dir, 'long', { heartbeatMs: 50 });
    await utimes(lockPath(dir, 'long'), new Date(0), new Date(0));
    await new Promise((r) => setTimeout(r, 150));
    expect((await stat(lockPath(dir, 'long'))).mtimeMs).toBeGreaterThan(Date.now() - 1000);
    // A waiter with a short staleMs still does not steal it, because the holder keeps touching it.
    await expect(acquireLock(dir, 'long', { staleMs: 300, timeoutMs: 600 })).rejects.toMatchObject({ code: 'STORE_LOCK_TIMEOUT' });
    await rm(lockPath(dir, 'long'));
    await new Promise((r) => setTimeout(r, 150));
    expect(held.signal.aborted).toBe(true);
    await held.release();
  });

  it('serialises 8 processes × 20 increments of a shared counter', async () => {
    const dir = await tempDir();
    const counter = `${dir}/counter`;
    await writeFile(counter, '0');
    const started = performance.now();
    const runs = await Promise.all(Array.from({ length: 8 }, () => runFixture('lock-counter', [dir, counter, '20'], { killAfterMs: 60_000 })));
    const totalMs = performance.now() - started;
    for (const run of runs) expect(run, run.stderr).toMatchObject({ code: 0 });
    expect(await readFile(counter, 'utf8')).toBe('160');
    const waits = runs.flatMap((r) => JSON.parse(r.stdout).waits as number[]).sort((a, b) => a - b);
    console.info(`8×20 contended acquires: median ${waits[80].toFixed(1)} ms, p95 ${waits[152].toFixed(1)} ms, max ${waits[159].toFixed(1)} ms, total ${totalMs.toFixed(0)} ms`);
  }, 90_000);

  it('takes over a lock whose holder was SIGKILLed, without waiting for staleMs', async () => {
    const dir = await tempDir();
    const holder = spawnFixture('hold-lock', [dir, 'victim']);
    cleanups.push(() => { if (holder.exitCode === null) holder.kill('SIGKILL'); });
    await new Promise<void>((resolve, reject) => {
      holder.stdout.on('data', (d) => { if (String(d).includes('held')) resolve(); });
      holder.on('exit', () => reject(new Error('holder exited early')));
    });
    await expect(acquireLock(dir, 'victim', { timeoutMs: 200 })).rejects.toMatchObject({ code: 'STORE_LOCK_TIMEOUT' });
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
    const started = performance.now();
    const lock = await acquireLock(dir, 'victim', { staleMs: 10_000, timeoutMs: 5_000 });
    const tookMs = performance.now() - started;
    await lock.release();
    expect(tookMs).toBeLessThan(1000);
    console.info(`takeover after SIGKILL: ${tookMs.toFixed(1)} ms`);
  }, 20_000);

  it('takes over a lock that stopped being touched (holder unknown) after staleMs', async () => {
    const dir = await tempDir();
    const held = await acquireLock(dir, 'old');
    await held.release();
    // A lock left by a process on another host: its pid cannot be checked, only its age.
    await writeFile(lockPath(dir, 'old'), JSON.stringify({ pid: 1, hostname: 'elsewhere', createdAt: 0 }));
    await utimes(lockPath(dir, 'old'), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    const lock = await acquireLock(dir, 'old', { staleMs: 10_000, timeoutMs: 1000 });
    await lock.release();
  });
});
