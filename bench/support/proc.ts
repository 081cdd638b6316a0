// What /proc says about another process: its CPU time (all threads: the event
// loop, libuv's pool, GC helpers) and its memory.

import fs from 'node:fs';

const CLK_TCK = 100; // `getconf CLK_TCK` on Linux/x86_64

/** utime + stime of `pid`, in seconds (10 ms resolution). */
export function processCpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  // Fields after the command name (which may hold spaces): state is field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Current and peak resident set size of `pid`, in bytes. */
export function processRss(pid: number): { rss: number; peakRss: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: kb('VmRSS'), peakRss: kb('VmHWM') };
}

/** This process's own CPU seconds (user + system). */
export function ownCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/** Busy seconds per CPU since boot (everything but idle and iowait), from /proc/stat. */
export function cpuBusySeconds(): number[] {
  const out: number[] = [];
  for (const line of fs.readFileSync('/proc/stat', 'latin1').split('\n')) {
    const match = /^cpu(\d+) (.*)$/.exec(line);
    if (match === null) continue;
    const [user, nice, system, _idle, _iowait, irq, softirq, steal] = match[2]!.trim().split(/\s+/).map(Number);
    out[Number(match[1])] = (user! + nice! + system! + irq! + softirq! + steal!) / CLK_TCK;
  }
  return out;
}

/**
 * Waits `warmupS`, then measures a window of `durationS`: its wall seconds and
 * this process's CPU seconds. `onWindow(true)` runs as the window opens and
 * `onWindow(false)` as it closes, so the caller records only inside it.
 */
export async function measuredWindow(
  warmupS: number,
  durationS: number,
  onWindow: (open: boolean) => void,
): Promise<{ windowS: number; cpuS: number }> {
  const sleep = (s: number) => new Promise((resolve) => setTimeout(resolve, s * 1000));
  await sleep(warmupS);
  const cpu0 = ownCpuSeconds();
  const t0 = performance.now();
  onWindow(true);
  await sleep(durationS);
  onWindow(false);
  return { windowS: (performance.now() - t0) / 1000, cpuS: ownCpuSeconds() - cpu0 };
}
