// Medians of rounds, the targets beside each figure, and the table.
import type { PhaseResult } from './load.js';
import type { ProcessUsage } from './process-metrics.js';

export interface Summary {
  rounds: number;
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  /** Summed over the rounds: one error in any round is worth seeing. */
  errors: number;
  /** CPU seconds per phase (median of rounds) and the highest RSS of any round, per process. */
  processes: Record<string, ProcessUsage>;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function summarise(rounds: PhaseResult[]): Summary {
  const processes: Record<string, ProcessUsage> = {};
  for (const name of Object.keys(rounds[0]?.processes ?? {})) {
    const usage = rounds.map((round) => round.processes[name]);
    const cpu = usage.flatMap((u) => (u.cpuSeconds === null ? [] : [u.cpuSeconds]));
    const rss = usage.flatMap((u) => (u.peakRssMb === null ? [] : [u.peakRssMb]));
    processes[name] = {
      cpuSeconds: cpu.length ? median(cpu) : null,
      peakRssMb: rss.length ? Math.max(...rss) : null,
    };
  }
  return {
    rounds: rounds.length,
    requests: rounds.reduce((sum, round) => sum + round.requests, 0),
    rps: median(rounds.map((round) => round.rps)),
    p50: median(rounds.map((round) => round.p50)),
    p99: median(rounds.map((round) => round.p99)),
    errors: rounds.reduce((sum, round) => sum + round.errors, 0),
    processes,
  };
}

export interface Check {
  /** e.g. `p99 < 250 ms` */
  target: string;
  /** The measured figure, formatted. */
  value: string;
  /** null: not measured in this run. */
  pass: boolean | null;
}

export function check(
  target: string,
  value: number | null,
  pass: (v: number) => boolean,
  unit = '',
) {
  return {
    target,
    value: value === null || Number.isNaN(value) ? 'n/a' : `${round(value)}${unit}`,
    pass: value === null || Number.isNaN(value) ? null : pass(value),
  } satisfies Check;
}

function round(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(value >= 10 ? 1 : 2);
}

export interface Row {
  scenario: string;
  summary: Summary;
  checks: Check[];
}

export const describeCheck = (c: Check) =>
  `${c.target}: ${c.value}${c.pass === null ? '' : c.pass ? ' pass' : ' MISS'}`;

function perProcess(summary: Summary, pick: (u: ProcessUsage) => number | null, unit: string) {
  return Object.entries(summary.processes)
    .flatMap(([name, usage]) => {
      const value = pick(usage);
      return value === null ? [] : [`${name} ${value.toFixed(unit === 's' ? 1 : 0)}${unit}`];
    })
    .join(', ');
}

/** A plain-text table, one row per scenario. */
export function table(rows: Row[]): string {
  const header = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'CPU / phase', 'peak RSS MB'];
  const lines = rows.map((row) => [
    row.scenario,
    row.summary.rps.toFixed(0),
    row.summary.p50.toFixed(1),
    row.summary.p99.toFixed(1),
    String(row.summary.errors),
    perProcess(row.summary, (u) => u.cpuSeconds, 's'),
    perProcess(row.summary, (u) => u.peakRssMb, ''),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((line) => line[i].length)));
  const format = (cells: string[]) =>
    cells
      .map((cell, i) => (i >= 1 && i <= 4 ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const out = [format(header), widths.map((w) => '-'.repeat(w)).join('  ')];
  rows.forEach((row, i) => {
    out.push(format(lines[i]));
    if (row.checks.length) out.push(`    targets: ${row.checks.map(describeCheck).join('; ')}`);
  });
  return out.join('\n');
}
