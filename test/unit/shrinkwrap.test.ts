// Users run what CI tested (issue 19, item 12): the package ships npm-shrinkwrap.json, npm's lock
// file that is published and honoured on install (package-lock.json is neither), so `npx
// appwrite-mcp` installs the exact runtime dependency tree of the checkout instead of the newest
// versions inside package.json's ranges (`^` for oauth4webapi and undici).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

interface Locked { version?: string; integrity?: string; dev?: boolean; devOptional?: boolean; link?: boolean; dependencies?: Record<string, string>; devDependencies?: Record<string, string> }

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; dependencies: Record<string, string>; devDependencies: Record<string, string> };
const SHRINKWRAP = join(ROOT, 'npm-shrinkwrap.json');

describe('npm-shrinkwrap.json', () => {
  it('exists (and no package-lock.json beside it), lockfile v3, for this package and version', () => {
    expect(existsSync(SHRINKWRAP)).toBe(true);
    expect(existsSync(join(ROOT, 'package-lock.json'))).toBe(false);
    const lock = JSON.parse(readFileSync(SHRINKWRAP, 'utf8'));
    expect(lock).toMatchObject({ name: pkg.name, version: pkg.version, lockfileVersion: 3 });
  });

  it('matches package.json: the same dependency ranges, each runtime dependency pinned with its integrity', () => {
    const packages = (JSON.parse(readFileSync(SHRINKWRAP, 'utf8')) as { packages: Record<string, Locked> }).packages;
    expect(packages['']!.dependencies).toEqual(pkg.dependencies);
    expect(packages['']!.devDependencies).toEqual(pkg.devDependencies);
    const runtime = Object.entries(packages).filter(([path, p]) => path.startsWith('node_modules/') && !p.dev && !p.devOptional && !p.link);
    expect(runtime.length).toBeGreaterThanOrEqual(Object.keys(pkg.dependencies).length);
    for (const name of Object.keys(pkg.dependencies)) expect(packages[`node_modules/${name}`], name).toMatchObject({ version: expect.any(String) });
    for (const [path, p] of runtime) {
      expect(p.version, path).toMatch(/^\d+\.\d+\.\d+/);
      expect(p.integrity, path).toMatch(/^sha512-/);
    }
  });

  it('is in the packed files (npm pack --dry-run)', () => {
    const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' })) as Array<{ files: Array<{ path: string }> }>;
    expect(pack!.files.map((f) => f.path)).toContain('npm-shrinkwrap.json');
  });
});
