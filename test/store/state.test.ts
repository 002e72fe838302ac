import { readdir, readFile, stat, writeFile, mkdir } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { loadState, statePath, updateState } from '../../src/store/state.js';
import { AppError } from '../../src/errors.js';
import { silentLogger as quiet } from '../../src/log.js';
import { makeTempDir, runFixture } from './helpers.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => { for (const c of cleanups.splice(0)) await c(); });
async function tempDir() { const t = await makeTempDir(); cleanups.push(t.cleanup); return `${t.dir}/config`; }
function recordingLogger() {
  const warnings: string[] = [];
  return { warnings, logger: { debugEnabled: false, debug() {}, info() {}, error() {}, warn: (m: string) => { warnings.push(m); } } };
}

describe('state', () => {
  it('starts empty, writes 0600 in a 0700 dir, and removes entries', async () => {
    const dir = await tempDir();
    expect(await loadState(dir, quiet)).toEqual({ version: 2, signIns: {}, clients: {} });
    await updateState(dir, quiet, (s) => { s.clients['https://as'] = { issuer: 'https://as', clientId: 'c', method: 'dcr', redirectUris: [], registeredAt: 1 }; });
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(statePath(dir))).mode & 0o777).toBe(0o600);
    expect((await loadState(dir, quiet)).clients['https://as']!.clientId).toBe('c');
    await updateState(dir, quiet, (s) => { delete s.clients['https://as']; });
    expect((await loadState(dir, quiet)).clients).toEqual({});
  });

  it('loses no update when several processes write at once', async () => {
    const dir = await tempDir();
    const runs = await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((p) => runFixture('state-writer', [dir, p, '5'], { killAfterMs: 60_000 })));
    for (const run of runs) expect(run, run.stderr).toMatchObject({ code: 0 });
    expect(Object.keys((await loadState(dir, quiet)).clients)).toHaveLength(30);
  }, 60_000);

  it('moves a corrupt file aside, warns, and starts empty', async () => {
    const dir = await tempDir();
    await mkdir(dir, { recursive: true });
    await writeFile(statePath(dir), '{"version": 2, "signIns": {');
    const { warnings, logger } = recordingLogger();
    expect(await loadState(dir, logger)).toEqual({ version: 2, signIns: {}, clients: {} });
    const names = await readdir(dir);
    expect(names.some((n) => n.startsWith('state.json.corrupt-'))).toBe(true);
    expect(names).not.toContain('state.json');
    expect(warnings.join('\n')).toMatch(/not valid JSON.*moved it to .*state\.json\.corrupt-/);
  });

  it('refuses a state file from a newer version with a clear error', async () => {
    const dir = await tempDir();
    await mkdir(dir, { recursive: true });
    await writeFile(statePath(dir), JSON.stringify({ version: 3, signIns: {}, clients: {} }));
    const error = await loadState(dir, quiet).catch((e) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error.code).toBe('STORE_STATE_VERSION');
    expect(error.message).toMatch(/version 3.*only understands versions up to 2/);
    expect(await readFile(statePath(dir), 'utf8')).toContain('"version":3');
  });

  it('tightens a state file that others can read, with a warning', async () => {
    const dir = await tempDir();
    await updateState(dir, quiet, () => {});
    const { chmod } = await import('node:fs/promises');
    await chmod(statePath(dir), 0o644);
    const { warnings, logger } = recordingLogger();
    await loadState(dir, logger);
    expect((await stat(statePath(dir))).mode & 0o777).toBe(0o600);
    expect(warnings.join('\n')).toMatch(/mode 0644.*0600/);
  });
});
