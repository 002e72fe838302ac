// How busy the machine was with other work during the run: system-wide busy CPU time (/proc/stat)
// minus the time used by the bench and everything it started (its own utime/stime plus its reaped
// children's cutime/cstime). A high share means the figures were taken on a noisy machine.
import { readFileSync } from 'node:fs';

export interface CpuSnapshot { systemBusy: number; systemTotal: number; ours: number }

const TICKS = 100; // USER_HZ on Linux

export function cpuSnapshot(): CpuSnapshot {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = cpu;
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime = 14, stime = 15, cutime = 16, cstime = 17
  const ours = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
  const busy = user + nice + system + irq + softirq + steal;
  return { systemBusy: busy / TICKS, systemTotal: (busy + idle + iowait) / TICKS, ours: ours / TICKS };
}

/** CPU seconds used by others, and that as a share of the machine's capacity over the interval. */
export function othersLoad(a: CpuSnapshot, b: CpuSnapshot): { cpuSeconds: number; share: number } {
  const others = Math.max(0, (b.systemBusy - a.systemBusy) - (b.ours - a.ours));
  const total = b.systemTotal - a.systemTotal;
  return { cpuSeconds: others, share: total > 0 ? others / total : 0 };
}
