// What `doctor --json` prints, and the shape every run must have (in-process and end to end alike).
import { expect } from 'vitest';

/** The checks, in the order doctor runs them. */
export const IDS = ['proxy', 'dns', 'connect', 'tls', 'clock', 'challenge', 'resource-metadata', 'authorization-server', 'pkce', 'keychain', 'sign-in', 'token', 'refresh', 'clients'];

export interface Check {
  id: string;
  status: 'ok' | 'warn' | 'fail' | 'skip';
  summary: string;
  detail?: string[];
  fix?: string;
}

export function expectShape(checks: Check[]): void {
  expect(checks.map((c) => c.id)).toEqual(IDS);
  for (const c of checks) {
    expect(Object.keys(c).every((k) => ['id', 'status', 'summary', 'detail', 'fix'].includes(k)), JSON.stringify(c)).toBe(true);
    expect(['ok', 'warn', 'fail', 'skip']).toContain(c.status);
    expect(typeof c.summary).toBe('string');
    expect(c.summary.length).toBeGreaterThan(0);
    if (c.detail !== undefined) {
      expect(Array.isArray(c.detail)).toBe(true);
      for (const d of c.detail) expect(typeof d).toBe('string');
    }
    if (c.fix !== undefined) expect(typeof c.fix).toBe('string');
    if (c.status === 'fail') expect(c.fix, `${c.id} fails without a fix`).toBeTruthy();
  }
}
