// CPU time and memory of the measured processes, read from Linux's /proc (elsewhere: null).
import { readFileSync } from 'node:fs';

// /proc reports CPU time in clock ticks of USER_HZ, which Linux fixes at 100 for user space.
const TICKS_PER_SECOND = 100;
const SAMPLE_EVERY_MS = 100;

export interface ProcessUsage {
  /** User + system CPU time spent during the phase, in seconds. */
  cpuSeconds: number | null;
  /** Highest VmRSS sampled during the phase, in MB. */
  peakRssMb: number | null;
}

/** A process, or a group whose members are found anew at each reading (PostgreSQL's backends). */
export type Watched = number | (() => number[]);

function cpuTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  } catch {
    return null;
  }
}

/** The children of `pid` (Linux >= 3.5), e.g. PostgreSQL's backends under its postmaster. */
export function childrenOf(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return text ? text.split(' ').map(Number) : [];
  } catch {
    return [];
  }
}

function sum(values: (number | null)[]): number | null {
  return values.some((v) => v === null) ? null : values.reduce<number>((a, v) => a + v!, 0);
}

/** A `Vm*` line of /proc/<pid>/status (kB there), in MB. */
export function memoryMb(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1];
    return kb === undefined ? null : Number(kb) / 1024;
  } catch {
    return null;
  }
}

/** Watches named processes over one phase: CPU time as a delta, RSS sampled every 100 ms. */
export class ProcessMonitor {
  private readonly cpuAtStart = new Map<string, Map<number, number | null>>();
  private readonly peakRss = new Map<string, number | null>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly watched: Record<string, Watched>) {}

  start(): void {
    for (const name of Object.keys(this.watched)) {
      this.cpuAtStart.set(name, this.cpu(name));
      this.peakRss.set(name, this.rss(name));
    }
    this.timer = setInterval(() => this.sample(), SAMPLE_EVERY_MS);
  }

  stop(): Record<string, ProcessUsage> {
    clearInterval(this.timer);
    this.sample();
    const usage: Record<string, ProcessUsage> = {};
    for (const name of Object.keys(this.watched)) {
      const ticks = this.cpuSince(this.cpuAtStart.get(name)!, this.cpu(name));
      usage[name] = {
        cpuSeconds: ticks === null ? null : ticks / TICKS_PER_SECOND,
        peakRssMb: this.peakRss.get(name) ?? null,
      };
    }
    return usage;
  }

  private pids(name: string): number[] {
    const watched = this.watched[name];
    return typeof watched === 'number' ? [watched] : watched();
  }

  private cpu(name: string): Map<number, number | null> {
    return new Map(this.pids(name).map((pid) => [pid, cpuTicks(pid)]));
  }

  // A group member that ended during the phase took its ticks along (not counted); one that
  // began during it spent all of its ticks in the phase.
  private cpuSince(start: Map<number, number | null>, end: Map<number, number | null>) {
    if (end.size === 0) return null;
    return sum(
      [...end].map(([pid, ticks]) => (ticks === null ? null : ticks - (start.get(pid) ?? 0))),
    );
  }

  // Not for groups: PostgreSQL's backends share their buffers, a sum would count them repeatedly.
  private rss(name: string): number | null {
    const watched = this.watched[name];
    return typeof watched === 'number' ? memoryMb(watched, 'VmRSS') : null;
  }

  private sample(): void {
    for (const name of Object.keys(this.watched)) {
      const rss = this.rss(name);
      const peak = this.peakRss.get(name) ?? null;
      if (rss !== null && (peak === null || rss > peak)) this.peakRss.set(name, rss);
    }
  }
}
