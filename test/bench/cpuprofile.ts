// Reads V8 .cpuprofile files (node --cpu-prof) and sums self time per function and per package.
import { readFileSync } from 'node:fs';
import { ROOT } from '../helpers/cli.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface CpuProfile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

export interface SelfTime { key: string; ms: number }
export interface ProfileSummary {
  totalMs: number;
  /** Self time per function ("name file:line"), descending. */
  functions: SelfTime[];
  /** Self time per package / area (node_modules/<pkg>, dist/<dir>, node:internal, GC, idle…), descending. */
  groups: SelfTime[];
}

function shortUrl(url: string): string {
  return url.replace(/^file:\/\//, '').replace(ROOT, '').replace(/^\/?/, '');
}

export function groupOf(url: string, functionName: string): string {
  if (!url) {
    if (functionName === '(idle)' || functionName === '(program)' || functionName === '(garbage collector)') return functionName;
    return '(native)';
  }
  if (url.startsWith('node:')) return url.startsWith('node:internal/deps/undici') ? 'node:undici (global fetch)' : url.split('/').slice(0, 2).join('/');
  const path = shortUrl(url);
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
  if (m) {
    const pkg = m[1]!;
    if (pkg === '@modelcontextprotocol/sdk') {
      const sub = /\/dist\/esm\/([^/]+(?:\/[^/]+)?)/.exec(path);
      return `${pkg} ${sub ? sub[1] : ''}`.trim();
    }
    return pkg;
  }
  return path;
}

export function summarizeProfile(file: string): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  const functions = new Map<string, number>();
  const groups = new Map<string, number>();
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const name = functionName || '(anonymous)';
    const key = url ? `${name} ${shortUrl(url)}:${lineNumber + 1}` : name;
    functions.set(key, (functions.get(key) ?? 0) + us / 1000);
    const g = groupOf(url, name);
    groups.set(g, (groups.get(g) ?? 0) + us / 1000);
  }
  const sorted = (m: Map<string, number>) => [...m].map(([key, ms]) => ({ key, ms })).sort((a, b) => b.ms - a.ms);
  return { totalMs: (p.endTime - p.startTime) / 1000, functions: sorted(functions), groups: sorted(groups) };
}

/** Averages several profiles' self times (e.g. one per cold start). */
export function averageSummaries(list: ProfileSummary[]): ProfileSummary {
  const avg = (pick: (s: ProfileSummary) => SelfTime[]) => {
    const m = new Map<string, number>();
    for (const s of list) for (const { key, ms } of pick(s)) m.set(key, (m.get(key) ?? 0) + ms / list.length);
    return [...m].map(([key, ms]) => ({ key, ms })).sort((a, b) => b.ms - a.ms);
  };
  return { totalMs: list.reduce((a, s) => a + s.totalMs, 0) / list.length, functions: avg((s) => s.functions), groups: avg((s) => s.groups) };
}
