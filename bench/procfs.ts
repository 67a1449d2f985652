/**
 * CPU time and memory of a process and its descendants (nginx workers, proxy worker processes),
 * read from Linux /proc: utime + stime from /proc/PID/stat and VmRSS from /proc/PID/status.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second of /proc/PID/stat times (USER_HZ); 100 on practically every Linux. */
export const CLOCK_TICKS: number = (() => {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

/** The fields of /proc/PID/stat after the command name (which may contain spaces and parentheses). */
export function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** utime + stime in ticks from the text of /proc/PID/stat (fields 14 and 15). */
export function cpuTicksFromStat(stat: string): number {
  const f = statFields(stat);
  // f[0] is field 3 (state), so field N is f[N - 3].
  return Number(f[11]) + Number(f[12]);
}

/** Parent pid from the text of /proc/PID/stat (field 4). */
export function parentFromStat(stat: string): number {
  return Number(statFields(stat)[1]);
}

/** VmRSS in kB from the text of /proc/PID/status; 0 when absent (a zombie). */
export function rssKbFromStatus(status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m === null ? 0 : Number(m[1]);
}

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null; // the process is gone
  }
}

/** `pid` and every live descendant of it. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = read(`/proc/${name}/stat`);
    if (stat === null) continue;
    const parent = parentFromStat(stat);
    const list = children.get(parent);
    if (list === undefined) children.set(parent, [Number(name)]);
    else list.push(Number(name));
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

/** CPU seconds (user + system) used so far by the processes. */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const stat = read(`/proc/${pid}/stat`);
    if (stat !== null) ticks += cpuTicksFromStat(stat);
  }
  return ticks / CLOCK_TICKS;
}

/** Resident memory of the processes together, in MB (MiB). */
export function rssMb(pids: readonly number[]): number {
  let kb = 0;
  for (const pid of pids) {
    const status = read(`/proc/${pid}/status`);
    if (status !== null) kb += rssKbFromStatus(status);
  }
  return kb / 1024;
}

/** Busy ticks (user, nice, system, irq, softirq, steal) of one core from the text of /proc/stat. */
export function coreBusyTicksFromStat(stat: string, core: number): number | null {
  const m = new RegExp(`^cpu${core} (.*)$`, 'm').exec(stat);
  if (m === null) return null;
  const [user, nice, system, , , irq, softirq, steal] = m[1].trim().split(/\s+/).map(Number);
  return user + nice + system + irq + softirq + (steal ?? 0);
}

/** CPU seconds one core has been busy so far (any process), or null when /proc/stat lacks it. */
export function coreBusySeconds(core: number): number | null {
  const stat = read('/proc/stat');
  const ticks = stat === null ? null : coreBusyTicksFromStat(stat, core);
  return ticks === null ? null : ticks / CLOCK_TICKS;
}
