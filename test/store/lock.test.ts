import { mkdir, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireLock, lockDir, withLock } from '../../src/store/lock.js';
import { AppError } from '../../src/errors.js';
import { until } from '../helpers/fakes.js';
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
    expect(await withLock(dir, 'a', async () => 42)).toBe(42);
    // Generations are collected as they are superseded: the directory stays small.
    for (let i = 0; i < 20; i++) await withLock(dir, 'a', async () => {});
    expect((await readdir(lockDir(dir, 'a'))).length).toBeLessThanOrEqual(4);
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
    const file = join(lockDir(dir, 'long'), '0000000001');
    await utimes(file, new Date(0), new Date(0));
    await until(async () => (await stat(file)).mtimeMs > Date.now() - 1000);
    // A waiter with a short staleMs still does not steal it, because the holder keeps touching it.
    await expect(acquireLock(dir, 'long', { staleMs: 300, timeoutMs: 600 })).rejects.toMatchObject({ code: 'STORE_LOCK_TIMEOUT' });
    await held.assertHeld();
    await rm(lockDir(dir, 'long'), { recursive: true });
    await until(() => held.signal.aborted);
    await expect(held.assertHeld()).rejects.toMatchObject({ code: 'STORE_LOCK_LOST' });
    await held.release();
  });

  it('a holder frozen past staleMs is taken over, and knows it at its next assertHeld', async () => {
    const dir = await tempDir();
    const frozen = await acquireLock(dir, 'f', { heartbeatMs: 60_000 }); // no heartbeat in this test's time
    await utimes(join(lockDir(dir, 'f'), '0000000001'), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    const taker = await acquireLock(dir, 'f', { staleMs: 10_000, timeoutMs: 1000 });
    await expect(frozen.assertHeld()).rejects.toMatchObject({ code: 'STORE_LOCK_LOST' });
    expect(frozen.signal.aborted).toBe(true);
    await taker.assertHeld();
    await frozen.release(); // releasing a lost lock leaves the new holder alone
    await taker.assertHeld();
    await expect(acquireLock(dir, 'f', { timeoutMs: 100 })).rejects.toMatchObject({ code: 'STORE_LOCK_TIMEOUT' });
    await taker.release();
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
    // A lock left by a process on another host: its pid cannot be checked, only its age.
    const file = join(lockDir(dir, 'old'), '0000000007');
    await mkdir(lockDir(dir, 'old'), { recursive: true });
    await writeFile(file, JSON.stringify({ pid: 1, hostname: 'elsewhere', nonce: 'x', createdAt: 0 }));
    await expect(acquireLock(dir, 'old', { staleMs: 10_000, timeoutMs: 150 })).rejects.toMatchObject({ code: 'STORE_LOCK_TIMEOUT' });
    await utimes(file, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    const lock = await acquireLock(dir, 'old', { staleMs: 10_000, timeoutMs: 1000 });
    await lock.assertHeld();
    expect(await readdir(lockDir(dir, 'old'))).toContain('0000000008');
    await lock.release();
  });
});
