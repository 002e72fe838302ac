// The table `npm run conformance` and the conformance test print: a row per scenario run, a column
// per proxy × client, which requirement sets list the scenario, and why a run failed.
import { REVISIONS, type Revision } from './suite.js';
import { columnName, runLabel, type Column, type ScenarioResult } from './runs.js';

const truncate = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** One row per scenario: which requirement sets list it, a cell per column, the first column's failure (and the others' when different). */
export function formatTable(results: ScenarioResult[], columns: Column[], required: Record<Revision, string[]>, width = 160): string {
  const labels = [...new Set(results.map(runLabel))];
  const find = (c: Column, label: string) => results.find((x) => x.target === c.target && x.client === c.client && runLabel(x) === label);
  const lines = [`| scenario | counts for | ${columns.map(columnName).join(' | ')} | why it fails |`, `|---|---|${columns.map(() => '---').join('|')}|---|`];
  for (const label of labels) {
    const { scenario, at } = results.find((r) => runLabel(r) === label)!;
    // The requirement sets this run counts for: those that list the scenario, at their own wire.
    const req = REVISIONS.filter((rev) => required[rev].includes(scenario) && at === rev).join(', ') || '-';
    const cells = columns.map((c) => {
      const r = find(c, label);
      return r ? (r.pass ? 'pass' : 'FAIL') : '-';
    });
    const reasons = [...new Set(columns.map((c) => find(c, label)).filter((r) => r && !r.pass).map((r) => `${r!.client === columns[0]!.client && r!.target === columns[0]!.target ? '' : `(${columnName(r!)}) `}${r!.reason}`))];
    lines.push(`| ${label} | ${req} | ${cells.join(' | ')} | ${truncate(reasons.join(' // '), width).replace(/\|/g, '\\|')} |`);
  }
  lines.push('');
  for (const c of columns) {
    const mine = results.filter((r) => r.target === c.target && r.client === c.client);
    // A requirement set counts its scenarios' runs at its own wire.
    const per = REVISIONS.map((rev) => {
      const set = mine.filter((r) => required[rev].includes(r.scenario) && r.at === rev);
      return `${set.filter((r) => r.pass).length}/${set.length} required by ${rev}`;
    });
    lines.push(`${columnName(c)}: ${mine.filter((r) => r.pass).length} of ${mine.length} runs pass (${per.join(', ')})`);
  }
  const lingering = results.filter((r) => r.notes.length);
  if (lingering.length) lines.push(`proxy did not exit on stdin EOF in: ${lingering.map((r) => `${runLabel(r)} (${columnName(r)})`).join(', ')}`);
  return lines.join('\n');
}
