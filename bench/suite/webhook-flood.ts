// The webhook flood: forged deliveries posted to payments' Stripe webhook as fast as
// four clients can (flood-worker.ts, a process of its own), alone (the CPU each costs payments)
// and beside a checkout (what they cost the storefront), against the same checkout without them,
// in one run.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ProcessMonitor } from './process-metrics.js';
import type { PhaseResult } from './load.js';
import { checkout, type Phase, type Target } from './scenarios.js';
import type { Stack } from './stack.js';

export interface Forgery {
  label: string;
  bytes: number;
}

export const FORGERIES: Forgery[] = [
  // Over the body limit: refused on its Content-Length, its connection closed unread.
  { label: 'unsigned 1 MB', bytes: 1024 * 1024 },
  // Inside the body limit: read whole and its signature computed, the costliest forgery.
  { label: 'forged 255 KB', bytes: 255 * 1024 },
];

export interface Flood {
  /** Forged deliveries answered (413, 400 or 429), and per second. */
  answered: number;
  rps: number;
  /** Connections the server closed under the attacker (expected for bodies over the limit). */
  resets: number;
  statuses: Record<string, number>;
}

export interface FloodRound {
  forgery: string;
  /** The forged deliveries alone. */
  forged: Flood;
  /** payments' CPU per forged delivery answered, alone, in ms. */
  cpuMsPerBody: number | null;
  alone: PhaseResult;
  attacked: PhaseResult;
}

export const CHECKOUT_CONNECTIONS = 4;
const ATTACKERS = 4;
const run = promisify(execFile);

async function flood(stack: Stack, forgery: Forgery, durationMs: number): Promise<Flood> {
  const worker = join(import.meta.dirname, 'flood-worker.js');
  const { stdout } = await run(
    process.execPath,
    [worker, stack.paymentsUrl, String(forgery.bytes), String(durationMs), String(ATTACKERS)],
    { timeout: durationMs + 30_000 },
  );
  return JSON.parse(stdout) as Flood;
}

/** One round per forgery: forged deliveries alone, the checkout alone, then both together. */
export async function webhookFlood(
  stack: Stack,
  target: Target,
  phase: Phase,
): Promise<FloodRound[]> {
  const rounds: FloodRound[] = [];
  const log = (line: string) => process.stderr.write(`  ${line}\n`);
  for (const forgery of FORGERIES) {
    const monitor = new ProcessMonitor({ payments: stack.processes.payments.pid! });
    monitor.start();
    const forged = await flood(stack, forgery, phase.durationMs);
    const cpu = monitor.stop().payments?.cpuSeconds ?? null;
    const cpuMsPerBody = cpu === null ? null : (cpu * 1000) / forged.answered;
    log(
      `forged webhooks (${forgery.label}) c=${ATTACKERS}: ${forged.answered} answered ` +
        `(${JSON.stringify(forged.statuses)}), ${forged.resets} connections closed, ` +
        `payments ${cpuMsPerBody?.toFixed(2) ?? 'n/a'} ms CPU each`,
    );
    const alone = await checkout(target, CHECKOUT_CONNECTIONS, phase);
    const [attacked] = await Promise.all([
      checkout(target, CHECKOUT_CONNECTIONS, phase),
      flood(stack, forgery, phase.durationMs),
    ]);
    rounds.push({ forgery: forgery.label, forged, cpuMsPerBody, alone, attacked });
  }
  return rounds;
}
