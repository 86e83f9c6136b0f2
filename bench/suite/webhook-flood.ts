// The webhook flood of issue 12: forged deliveries posted to payments' Stripe webhook as fast as
// four clients can, alone (the CPU each costs payments) and beside a checkout (what they cost the
// storefront), against the same checkout without them, in one run.
import { randomUUID } from 'node:crypto';
import { runLoad, type PhaseResult } from './load.js';
import { checkout, type Phase, type Target } from './scenarios.js';
import type { Stack } from './stack.js';

export interface Forgery {
  label: string;
  bytes: number;
  /** A fresh, well-formed header whose signature is wrong, or a malformed one. */
  signature: () => string;
}

export const FORGERIES: Forgery[] = [
  {
    label: 'unsigned 1 MB',
    bytes: 1024 * 1024,
    signature: () => `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}`,
  },
  {
    // Inside the body limit: read whole and its signature computed, the costliest forgery.
    label: 'forged 255 KB',
    bytes: 255 * 1024,
    signature: () => `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}`,
  },
];

export interface FloodRound {
  forgery: string;
  /** The forged deliveries alone. */
  forged: PhaseResult;
  /** payments' CPU per forged delivery, alone, in ms. */
  cpuMsPerBody: number | null;
  alone: PhaseResult;
  attacked: PhaseResult;
}

const CHECKOUT_CONNECTIONS = 4;
const ATTACKERS = 4;

/** Many short escaped keys, as the probe sent: the costliest JSON to scan when it was parsed. */
function forgedBody(bytes: number): string {
  const entry = `"\\u0061${randomUUID().slice(0, 4)}":1,`;
  return `{${entry.repeat(Math.floor((bytes - 2) / entry.length))}"z":1}`.padEnd(bytes, ' ');
}

function flood(stack: Stack, forgery: Forgery, durationMs: number): Promise<PhaseResult> {
  const body = forgedBody(forgery.bytes);
  return runLoad({
    label: `forged webhooks (${forgery.label}) c=${ATTACKERS}`,
    origin: stack.paymentsUrl,
    connections: ATTACKERS,
    durationMs,
    pids: { payments: stack.processes.payments.pid! },
    next: () => ({
      method: 'POST',
      path: '/webhooks/stripe',
      headers: { 'content-type': 'application/json', 'stripe-signature': forgery.signature() },
      body,
    }),
    // Refused, as it must be: too large, not verified, or over the address's budget for those.
    accept: (status) => status === 413 || status === 400 || status === 429,
  });
}

/** One round per forgery: forged deliveries alone, the checkout alone, then both together. */
export async function webhookFlood(stack: Stack, target: Target, phase: Phase) {
  const rounds: FloodRound[] = [];
  for (const forgery of FORGERIES) {
    const forged = await flood(stack, forgery, phase.durationMs);
    const cpu = forged.processes.payments?.cpuSeconds;
    const alone = await checkout(target, CHECKOUT_CONNECTIONS, phase);
    const [attacked] = await Promise.all([
      checkout(target, CHECKOUT_CONNECTIONS, phase),
      flood(stack, forgery, phase.durationMs),
    ]);
    await target.settled?.();
    rounds.push({
      forgery: forgery.label,
      forged,
      cpuMsPerBody: cpu === null || cpu === undefined ? null : (cpu * 1000) / forged.requests,
      alone,
      attacked,
    });
  }
  return rounds;
}

export { CHECKOUT_CONNECTIONS };
