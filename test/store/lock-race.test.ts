// The lock race of issue 17, run many times: a holder SIGKILLed (MCP clients kill their children at
// will) leaves its lock behind; six processes waiting for it take it over at the same moment. Exactly
// one may hold it at any time: the hold periods of the six must never overlap. The old takeover
// (rename aside, compare inode numbers) let two in when ext4 reused the freed inode at once.
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir, spawnFixture } from './helpers.js';

const TRIALS = Number(process.env.LOCK_RACE_TRIALS ?? 12);
const WAITERS = 6;
const HOLD_MS = 60;
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); });

interface Held { trial: number; start: number; end: number }

function worker(dir: string): Promise<ChildProcess> {
  const child = fork(join(fixtures, 'lock-race-worker.ts'), [dir], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  cleanups.push(() => child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`lock worker exited early (${code})`)));
  });
}

/** Leaves the locks `names` held by a process that was SIGKILLed while holding them. */
async function deadHolder(dir: string, names: string[]): Promise<void> {
  const holder = spawnFixture('hold-lock', [dir, ...names]);
  await new Promise<void>((resolve, reject) => {
    holder.stdout.on('data', (d) => { if (String(d).includes('held')) resolve(); });
    holder.once('exit', () => reject(new Error('holder exited early')));
  });
  holder.kill('SIGKILL');
  await new Promise((resolve) => holder.once('exit', resolve));
}

describe('lock takeover race', () => {
  it(`${WAITERS} waiters take over a SIGKILLed holder's lock: never two at once (${TRIALS} trials)`, async () => {
    const t = await makeTempDir();
    cleanups.push(t.cleanup);
    const names = Array.from({ length: TRIALS }, (_, i) => `race-${i}`);
    const [workers] = await Promise.all([
      Promise.all(Array.from({ length: WAITERS }, () => worker(t.dir))),
      deadHolder(t.dir, names),
    ]);
    const overlapping: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const held = await Promise.all(workers.map((w) => new Promise<Held>((resolve) => {
        w.once('message', (m: Held) => resolve(m));
        w.send({ trial, name: names[trial], holdMs: HOLD_MS });
      })));
      held.sort((a, b) => a.start - b.start);
      for (let i = 1; i < held.length; i++) {
        if (held[i]!.start < held[i - 1]!.end) overlapping.push(`trial ${trial}: held from ${held[i]!.start.toFixed(1)} while another held it until ${held[i - 1]!.end.toFixed(1)}`);
      }
    }
    expect(overlapping).toEqual([]);
  }, 120_000);
});
