// What the bench holds the proxy to.
//
// TARGETS are the absolute goals for this machine class (2 cores); the report shows each as
// PASS/FAIL. They are not what CI enforces: absolute times move with the machine.
//
// CHECKS are what `--check` (and CI) enforce: only LARGE regressions, each a ratio between figures
// measured in the same run on the same machine (the direct SDK client and mcp-remote are the yardsticks),
// so a slower or busier CI box moves both sides and the check does not flake.
import type { BenchResults, SubjectResult } from './bench.js';

export interface Verdict {
  name: string;
  limit: string;
  measured: string;
  pass: boolean;
  /** Could not be evaluated (a subject was not measured). */
  skipped?: boolean;
}

const MB = 1024 * 1024;
const ms = (n: number) => `${n.toFixed(2)} ms`;
const mb = (n: number) => `${(n / MB).toFixed(1)} MB`;

/** The targets (issue "Proxy foundation"); the memory ones are in `npm run bench:memory`. */
export const TARGET = {
  addedP50SmallMs: 0.1,
  throughputPercentOfDirect: 100,
  /** Cold start ≤ this × a bare `node -e` answering initialize, measured in the same run. */
  coldStartRatioToNodeFloor: 1.5,
  /** Every translated era pairing's p50 ≤ this × the pass-through to the same server. */
  pairingRatio: 1.2,
};

/**
 * The regression limits, chosen from repeated runs on a 2-core box, quiet and busy (see
 * test/bench/README.md): each sits far outside the run-to-run noise of the proxy as it is, so a busy
 * CI machine does not trip it, and each is crossed by the kind of regression that matters (the proxy
 * becoming as slow as mcp-remote per message, losing its concurrency, loading the login UI or the
 * SDK at start-up, holding whole payloads or a bigger heap).
 */
export const CHECK = {
  /** proxy p50 ≤ mcp-remote p50 + this × direct p50 (small echo and 100 KB), i.e. never slower than mcp-remote (measured: proxy p50 is 0.45–0.65 × mcp-remote's). */
  latencyMarginOfDirect: 0.1,
  /** Without mcp-remote in the run: proxy p50 ≤ this × direct p50. */
  latencyRatioToDirect: 1.5,
  /** proxy throughput ≥ this × direct throughput (median of per-round ratios; measured: 0.98–1.34). */
  throughputRatio: 0.6,
  /** proxy cold start (median) ≤ this × mcp-remote's (measured: 0.29–0.35). */
  coldStartRatio: 0.6,
  /** Without mcp-remote: proxy cold start ≤ this × a bare `node -e` answering initialize. */
  coldStartRatioToNodeFloor: 8,
  /**
   * proxy peak RSS ≤ this × mcp-remote's. Measured 0.39–0.51 in quick runs since the proxy no longer
   * tunes V8 (no flags; 0.24 with them, before): the limit is there for what doubles it (the SDK or
   * the login UI loaded, whole payloads held several times over).
   */
  peakRssRatio: 0.7,
};

function get(r: BenchResults) {
  return { direct: r.subjects.direct!, proxy: r.subjects.proxy, remote: r.subjects['mcp-remote'] };
}

const skipped = (name: string, limit: string): Verdict => ({ name, limit, measured: 'not measured', pass: true, skipped: true });

export function evaluateTargets(r: BenchResults): Verdict[] {
  const { proxy, remote } = get(r);
  if (!proxy) return [skipped('proxy targets', 'the proxy was not measured')];
  const out: Verdict[] = [];
  const added = proxy.addedSmall!.p50;
  out.push({ name: 'added p50 latency, small echo', limit: `≤ ${TARGET.addedP50SmallMs} ms`, measured: ms(added), pass: added <= TARGET.addedP50SmallMs });
  const pct = proxy.throughput.percentOfDirect!;
  out.push({ name: `throughput, ${r.options.concurrency} in flight`, limit: `≥ ${TARGET.throughputPercentOfDirect} % of direct`, measured: `${pct.toFixed(1)} %`, pass: pct >= TARGET.throughputPercentOfDirect });
  const cold = proxy.coldStart!.medianMs;
  const floor = r.nodeFloorColdStart.medianMs;
  out.push({ name: 'cold start (median)', limit: `≤ ${TARGET.coldStartRatioToNodeFloor} × bare node ${ms(floor)} = ${ms(TARGET.coldStartRatioToNodeFloor * floor)}`, measured: `${ms(cold)} (${(cold / floor).toFixed(2)} ×)`, pass: cold <= TARGET.coldStartRatioToNodeFloor * floor });
  for (const p of r.pairings ?? []) {
    if (p.ratio === undefined) continue;
    out.push({ name: `p50 ${p.name}`, limit: `≤ ${TARGET.pairingRatio} × ${p.against}`, measured: `${ms(p.small.p50)} (${p.ratio.toFixed(2)} ×)`, pass: p.ratio <= TARGET.pairingRatio });
  }
  const rss = proxy.peakRss?.treeBytes;
  if (r.proxyModules) {
    const f = r.proxyModules.forbidden;
    out.push({ name: 'proxy mode loads no ink / react / login UI', limit: 'none', measured: f.length ? f.slice(0, 3).join(', ') + (f.length > 3 ? ` (+${f.length - 3})` : '') : 'none', pass: f.length === 0 });
  }
  if (!remote) return [...out, skipped('better than mcp-remote', 'mcp-remote was not measured')];
  const better = (name: string, p: number, m: number, fmt: (n: number) => string, higherIsBetter = false) => {
    out.push({ name: `${name}: better than mcp-remote`, limit: `${higherIsBetter ? '>' : '<'} ${fmt(m)}`, measured: fmt(p), pass: higherIsBetter ? p > m : p < m });
  };
  better('added p50, small echo', proxy.addedSmall!.p50, remote.addedSmall!.p50, ms);
  better('added p50, 100 KB', proxy.addedLarge!.p50, remote.addedLarge!.p50, ms);
  better('throughput', proxy.throughput.callsPerSecond, remote.throughput.callsPerSecond, (n) => `${n.toFixed(0)} calls/s`, true);
  better('cold start', cold, remote.coldStart!.medianMs, ms);
  if (rss !== undefined && remote.peakRss) better('peak RSS', rss, remote.peakRss.treeBytes, mb);
  return out;
}

export function evaluateChecks(r: BenchResults): Verdict[] {
  const { direct, proxy, remote } = get(r);
  if (!proxy) return [{ name: 'the proxy was measured', limit: 'yes', measured: 'no', pass: false }];
  const out: Verdict[] = [];
  const latency = (label: string, pick: (s: SubjectResult) => number) => {
    const p = pick(proxy);
    const d = pick(direct);
    if (remote) {
      const limit = pick(remote) + CHECK.latencyMarginOfDirect * d;
      out.push({ name: `p50 ${label}`, limit: `≤ mcp-remote ${ms(pick(remote))} + ${CHECK.latencyMarginOfDirect} × direct ${ms(d)} = ${ms(limit)}`, measured: ms(p), pass: p <= limit });
    } else {
      const limit = CHECK.latencyRatioToDirect * d;
      out.push({ name: `p50 ${label}`, limit: `≤ ${CHECK.latencyRatioToDirect} × direct ${ms(d)} = ${ms(limit)}`, measured: ms(p), pass: p <= limit });
    }
  };
  latency('small echo', (s) => s.small.p50);
  latency('100 KB echo', (s) => s.large.p50);
  const ratio = proxy.throughput.percentOfDirect! / 100;
  out.push({ name: 'throughput', limit: `≥ ${CHECK.throughputRatio} × direct (${direct.throughput.callsPerSecond.toFixed(0)} calls/s)`, measured: `${ratio.toFixed(2)} × direct`, pass: ratio >= CHECK.throughputRatio });
  const cold = proxy.coldStart!.medianMs;
  if (remote) {
    const limit = CHECK.coldStartRatio * remote.coldStart!.medianMs;
    out.push({ name: 'cold start (median)', limit: `≤ ${CHECK.coldStartRatio} × mcp-remote ${ms(remote.coldStart!.medianMs)} = ${ms(limit)}`, measured: ms(cold), pass: cold <= limit });
  } else {
    const limit = CHECK.coldStartRatioToNodeFloor * r.nodeFloorColdStart.medianMs;
    out.push({ name: 'cold start (median)', limit: `≤ ${CHECK.coldStartRatioToNodeFloor} × bare node ${ms(r.nodeFloorColdStart.medianMs)} = ${ms(limit)}`, measured: ms(cold), pass: cold <= limit });
  }
  if (remote?.peakRss && proxy.peakRss) {
    const limit = CHECK.peakRssRatio * remote.peakRss.treeBytes;
    out.push({ name: 'peak RSS', limit: `≤ ${CHECK.peakRssRatio} × mcp-remote ${mb(remote.peakRss.treeBytes)} = ${mb(limit)}`, measured: mb(proxy.peakRss.treeBytes), pass: proxy.peakRss.treeBytes <= limit });
  }
  if (r.proxyModules) {
    out.push({ name: 'no ink / react / login UI in proxy mode', limit: 'none loaded', measured: `${r.proxyModules.forbidden.length} loaded`, pass: r.proxyModules.forbidden.length === 0 });
  }
  const auth = Object.entries(r.authDuringRuns).filter(([, n]) => n !== 0);
  out.push({ name: 'no sign-in, refresh or 401 during the runs', limit: 'all 0', measured: auth.length ? auth.map(([k, n]) => `${k} ${n}`).join(', ') : 'all 0', pass: auth.length === 0 });
  return out;
}
