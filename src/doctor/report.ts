// What every doctor check hands back: one line for people (✓ / ! / ✗ / ·), the same as JSON for
// scripts, and for every failure the exact command or setting that fixes it.
import { NetworkTimeoutError } from '../http/network-error.js';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  /** Stable id for scripts: dns, proxy, connect, tls, clock, challenge, resource-metadata, … */
  id: string;
  status: CheckStatus;
  /** One line: what was found. */
  summary: string;
  /** More lines: where, how long, what was seen. */
  detail?: string[];
  /** For fail (and some warn): the command to run or the setting to change. */
  fix?: string;
}

export const ok = (id: string, summary: string, more: Partial<Pick<CheckResult, 'detail' | 'fix'>> = {}): CheckResult => ({ id, status: 'ok', summary, ...clean(more) });
export const warn = (id: string, summary: string, more: Partial<Pick<CheckResult, 'detail' | 'fix'>> = {}): CheckResult => ({ id, status: 'warn', summary, ...clean(more) });
export const fail = (id: string, summary: string, more: Partial<Pick<CheckResult, 'detail' | 'fix'>> = {}): CheckResult => ({ id, status: 'fail', summary, ...clean(more) });
export const skip = (id: string, summary: string, more: Partial<Pick<CheckResult, 'detail' | 'fix'>> = {}): CheckResult => ({ id, status: 'skip', summary, ...clean(more) });

function clean(more: Partial<Pick<CheckResult, 'detail' | 'fix'>>): Partial<Pick<CheckResult, 'detail' | 'fix'>> {
  return {
    ...(more.detail?.length ? { detail: more.detail } : {}),
    ...(more.fix ? { fix: more.fix } : {}),
  };
}

/** Rejects with `message` after `ms`; the timer never keeps the process alive. */
export function deadline<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(message)), ms);
    timer.unref();
  });
  work.catch(() => {}); // a late rejection after the deadline is irrelevant
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export class DeadlineError extends NetworkTimeoutError {}

export function ms(n: number): string {
  return n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(1)} s`;
}
