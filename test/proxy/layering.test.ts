// The shape of the source, checked from its import statements (static, `import type` and dynamic
// `import()` alike): no import cycle anywhere in src/, and the proxy's layers only look down —
// transports never know the eras, the eras never know the bridge, the HTTP layer knows neither.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = process.env.LAYERING_SRC ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : name.endsWith('.ts') ? [path] : [];
  });
}

/** src-relative path → the src-relative paths it imports. */
function graph(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const file of files(SRC)) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(/(?:from\s+|import\s*\(\s*)'(\.{1,2}\/[^']+)'/g)].map((m) => relative(SRC, resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts'))));
    out.set(relative(SRC, file), [...new Set(targets)]);
  }
  return out;
}

function cycles(g: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of g.get(node) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of g.keys()) if (!state.has(node)) visit(node);
  return found;
}

const g = graph();
const importsOf = (prefix: string) => [...g].filter(([file]) => file.startsWith(prefix)).flatMap(([file, targets]) => targets.map((t) => `${file} → ${t}`));

describe('the source layout', () => {
  it('has no import cycle', () => {
    expect(g.size).toBeGreaterThan(50);
    expect(cycles(g)).toEqual([]);
  });

  it('the HTTP layer imports nothing of the proxy, the sign-in or the commands', () => {
    expect(importsOf('http/').filter((l) => /→ (proxy|auth|commands|store)\//.test(l))).toEqual([]);
  });

  it('transports import neither the eras nor the bridge', () => {
    expect(importsOf('proxy/transports/').filter((l) => /→ proxy\/(eras\/|bridge|run|gate|sign-in-wait|placeholder|tool-filter|pinger|batches)/.test(l))).toEqual([]);
  });

  it('the eras never import the bridge or what only it does', () => {
    expect(importsOf('proxy/eras/').filter((l) => /→ proxy\/(bridge|run|gate|sign-in-wait|placeholder|tool-filter|pinger|batches)/.test(l))).toEqual([]);
  });

  it('the proxy reaches sign-in only through the ground-floor contract (authorization.ts)', () => {
    // (The era cache writes its file with the store's private-file helper: a utility, not the sign-ins.)
    expect(importsOf('proxy/').filter((l) => /→ (auth|commands|store)\//.test(l) && !l.endsWith('→ store/private-file.ts'))).toEqual([]);
  });
});
