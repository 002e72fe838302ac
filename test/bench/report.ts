// The markdown report printed on stdout (paste-able into the README).
import type { BenchResults, SubjectResult } from './bench.js';
import type { Verdict } from './targets.js';

const f2 = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '–' : n.toFixed(2));
const signed = (n: number | undefined) => (n === undefined ? '–' : `${n >= 0 ? '+' : ''}${n.toFixed(2)}`);
const MB = 1024 * 1024;

function row(cells: Array<string | number>): string {
  return `| ${cells.join(' | ')} |`;
}

export function renderReport(r: BenchResults, targets: Verdict[], checks: Verdict[]): string {
  const subjects = Object.values(r.subjects) as SubjectResult[];
  const o = r.options;
  const lines: string[] = [];
  lines.push(`## Benchmark — ${r.startedAt.slice(0, 10)}, ${r.machine.cpus} × ${r.machine.cpuModel}, Node ${r.machine.node}${o.quick ? ' (quick)' : ''}`);
  lines.push('');
  lines.push(`Local cloud, ${o.layout === 'root' ? 'stateless root layout answering with SSE (like mcp.appwrite.io)' : 'stateful per-project layout'}; the same server, token and machine for every subject, taking turns. SDK ${r.versions.sdk}, mcp-remote ${r.versions.mcpRemote}.`);
  lines.push('');
  lines.push(`### Latency — sequential \`tools/call echo\`, ms (${o.small} small, ${o.large} × ${Math.round(o.largeBytes / 1024)} KB per subject)`);
  lines.push('');
  lines.push(row(['subject', 'small p50', 'p90', 'p99', 'added p50', 'added p90', 'added p99', `${Math.round(o.largeBytes / 1024)} KB p50`, 'p90', 'p99', 'added p50', 'added p90', 'added p99']));
  lines.push(row(Array(13).fill('---')));
  for (const s of subjects) {
    lines.push(row([
      `**${s.name}**`, f2(s.small.p50), f2(s.small.p90), f2(s.small.p99),
      signed(s.addedSmall?.p50), signed(s.addedSmall?.p90), signed(s.addedSmall?.p99),
      f2(s.large.p50), f2(s.large.p90), f2(s.large.p99),
      signed(s.addedLarge?.p50), signed(s.addedLarge?.p90), signed(s.addedLarge?.p99),
    ]));
  }
  lines.push('');
  lines.push('"added" = the subject\'s percentile minus the direct client\'s same percentile.');
  lines.push('');
  lines.push(`### Throughput, cold start, memory`);
  lines.push('');
  lines.push(row(['subject', `calls/s (${o.concurrency} in flight, median of ${o.throughputRounds} rounds)`, '% of direct', `cold start median (min–max), ms, n=${o.coldStarts}`, 'peak RSS']));
  lines.push(row(Array(5).fill('---')));
  for (const s of subjects) {
    const cold = s.coldStart ? `${f2(s.coldStart.medianMs)} (${f2(s.coldStart.minMs)}–${f2(s.coldStart.maxMs)})` : '–';
    const rss = s.peakRss ? `${(s.peakRss.treeBytes / MB).toFixed(1)} MB${s.peakRss.processes > 1 ? ` (${s.peakRss.processes} processes)` : ''}` : '– (in the bench process)';
    lines.push(row([`**${s.name}**`, s.throughput.callsPerSecond.toFixed(0), s.throughput.percentOfDirect === undefined ? '100' : s.throughput.percentOfDirect.toFixed(1), cold, rss]));
  }
  const fl = r.nodeFloorColdStart;
  lines.push(row(['*bare `node -e`*', '', '', `${f2(fl.medianMs)} (${f2(fl.minMs)}–${f2(fl.maxMs)})`, '']));
  lines.push('');
  lines.push('Cold start: spawn → the `initialize` response on stdout (the proxy reads its stored sign-in and forwards `initialize` upstream). '
    + 'Peak RSS: `VmHWM` from /proc of the spawned process plus any descendants, read at the end of all runs.');
  if (r.pairings) {
    lines.push('');
    lines.push(`### Era pairings through the proxy — sequential small \`tools/call echo\`, ms (${o.pairings} per pairing, taking turns)`);
    lines.push('');
    lines.push(row(['pairing', 'p50', 'p90', 'p99', 'p50 ÷ the pass-through to the same server']));
    lines.push(row(Array(5).fill('---')));
    for (const p of r.pairings) lines.push(row([p.name, f2(p.small.p50), f2(p.small.p90), f2(p.small.p99), p.ratio === undefined ? '(pass-through)' : `${p.ratio.toFixed(2)} × (${p.against})`]));
  }
  if (r.proxyModules) {
    lines.push('');
    lines.push(`Proxy mode loaded ${r.proxyModules.modules} modules from ${r.proxyModules.packages.length} packages: ${r.proxyModules.packages.join(', ') || 'none'}.`);
  }
  lines.push('');
  // The absolute targets are for a full run on a quiet machine. A quick run (what `npm test` runs, on a
  // machine busy with other test files) still shows them, but a miss there is no failure: it says so.
  const targetsApply = !o.quick || o.strictTargets;
  lines.push(targetsApply ? '### Targets' : '### Targets (informational: they apply to full runs on a quiet machine, not to this quick run)');
  lines.push('');
  lines.push(verdictTable(targets, targetsApply ? FAILS : INFORMS));
  lines.push('');
  lines.push(`### Regression check${o.check ? '' : ' (informational; enforced with --check)'}`);
  lines.push('');
  lines.push(verdictTable(checks, FAILS));
  lines.push('');
  if (o.check) {
    const failed = checks.filter((c) => !c.pass && !c.skipped).length;
    lines.push(failed ? `**Regression check: FAILED** (${failed} of ${checks.length}).` : `Regression check: passed (${checks.filter((c) => !c.skipped).length} of ${checks.length}).`);
    lines.push('');
  }
  const a = r.authDuringRuns;
  lines.push(`During the runs: ${r.mcpRequests} MCP requests; registrations ${a.registrations}, authorize ${a.authorizeRequests}, code grants ${a.authorizationCodeGrants}, refreshes ${a.refreshGrants}, 401s ${a.mcpUnauthorized}. Sign-in (once, untimed): ${(r.signInMs / 1000).toFixed(1)} s. Whole run: ${(r.durationMs / 1000).toFixed(1)} s. Other processes used ${r.machine.othersCpu ? `${(r.machine.othersCpu.share * 100).toFixed(0)} % of the machine's CPU` : 'an unknown share of the CPU'} meanwhile (load average ${r.machine.loadavgBefore[0]!.toFixed(2)} → ${r.machine.loadavgAfter[0]!.toFixed(2)}).`);
  return `${lines.join('\n')}\n`;
}

/** How a verdict reads: PASS / FAIL where it is enforced, met / missed where it only informs. */
const FAILS = { pass: 'PASS', miss: '**FAIL**' };
const INFORMS = { pass: 'met', miss: 'missed (informational)' };

function verdictTable(verdicts: Verdict[], words: { pass: string; miss: string }): string {
  return [
    row(['', 'limit', 'measured', 'result']),
    row(['---', '---', '---', '---']),
    ...verdicts.map((v) => row([v.name, v.limit, v.measured, v.skipped ? 'skipped' : v.pass ? words.pass : words.miss])),
  ].join('\n');
}
