// The chaos run: a fleet, a bounded storefront workload, instances killed (SIGKILL) and restarted
// every few seconds, PostgreSQL restarted once, then a settle and the invariants.
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Stripe from 'stripe';
import { Fleet, type FleetPorts, type Instance } from '../fleet/fleet.js';
import { checkInvariants, type Findings } from './invariants.js';
import { journey, type JourneyRecord } from './journeys.js';
import { Storefront } from './storefront.js';

export interface ChaosOptions {
  durationMs: number;
  /** Shoppers at once. */
  concurrency: number;
  /** Mean time between two kills. */
  killEveryMs: number;
  ports: FleetPorts;
  postgresPort: number;
  /** Restart PostgreSQL once, a third into the run. */
  restartPostgres: boolean;
  log: (line: string) => void;
  /**
   * Called once the fleet has settled and been judged, before it stops: a test can break a rule on
   * purpose and check that `recheck` sees it (a checker that cannot fail proves nothing).
   */
  afterSettle?: (fleet: Fleet, recheck: () => Promise<Findings>) => Promise<void>;
}

export interface ChaosReport extends Findings {
  runId: string;
  durationMs: number;
  kills: string[];
  postgresRestarts: number;
  /** Answers by status, over every answer the storefront kept (5xx and finals). */
  statuses: Record<string, number>;
  settleMs: number;
}

/** Settings that let the fleet heal within seconds rather than minutes. */
const FAST_HEALING: NodeJS.ProcessEnv = {
  NODE_ENV: 'development',
  LOG_LEVEL: 'warn',
  RECONCILE_INTERVAL_MS: '1000',
  RECONCILE_AFTER_MS: '3000',
  RECONCILE_PENDING_AFTER_MS: '3000',
  OUTBOX_POLL_INTERVAL_MS: '200',
  OUTBOX_MAX_BACKOFF_MS: '1000',
  IDEMPOTENCY_LOCK_TIMEOUT_MS: '3000',
  PAYMENTS_BREAKER_HALF_OPEN_AFTER_MS: '1000',
  SHUTDOWN_DRAIN_DELAY_MS: '0',
  // The workload is one client address: the limits are not what is under test.
  RATE_LIMIT_DEFAULT_LIMIT: '1000000',
  RATE_LIMIT_CHECKOUT_LIMIT: '1000000',
  RATE_LIMIT_CHECKOUT_ADDRESS_LIMIT: '1000000',
  RATE_LIMIT_WEBHOOK_LIMIT: '1000000',
};

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const runId = randomBytes(4).toString('hex');
  const dir = await mkdtemp(join(tmpdir(), 'orders-payments-chaos-'));
  // When run as root, PostgreSQL runs as the `postgres` user, which must reach its data directory.
  await chmod(dir, 0o711);
  const { log } = options;
  log(`chaos ${runId}: starting 2 orders + 2 payments instances`);
  const fleet = await Fleet.start({
    instances: { orders: 2, payments: 2 },
    ports: options.ports,
    dataDir: join(dir, 'postgres'),
    postgresPort: options.postgresPort,
    env: FAST_HEALING,
    log,
  });
  try {
    const storefront = new Storefront(
      () => fleet.orders.map((instance) => ({ name: instance.name, url: instance.url })),
      60_000,
    );
    const stripe = new Stripe('sk_test_chaos', {
      host: '127.0.0.1',
      port: fleet.stripe.port,
      protocol: 'http',
      maxNetworkRetries: 2,
    });
    const startedAt = Date.now();
    const endAt = startedAt + options.durationMs;
    const journeys: JourneyRecord[] = [];
    let next = 0;
    const shopper = async () => {
      while (Date.now() < endAt)
        journeys.push(await journey({ storefront, stripe, runId }, next++));
    };
    const faults = injectFaults(fleet, options, endAt);
    await Promise.all([...Array.from({ length: options.concurrency }, shopper), faults.done]);
    log(`workload done: ${journeys.length} journeys; every instance running again; settling`);

    const settleStarted = Date.now();
    let findings = await checkInvariants(fleet, journeys, storefront.answers, runId);
    // Webhooks, the outbox and reconciliation catch up: give them time before judging.
    const settleBy = Date.now() + 60_000;
    while (findings.violations.length > 0 && Date.now() < settleBy) {
      await sleep(1000);
      findings = await checkInvariants(fleet, journeys, storefront.answers, runId);
    }
    await options.afterSettle?.(fleet, () =>
      checkInvariants(fleet, journeys, storefront.answers, runId),
    );
    const statuses: Record<string, number> = {};
    for (const answer of storefront.answers) {
      statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
    }
    return {
      runId,
      durationMs: Date.now() - startedAt,
      ...findings,
      kills: faults.kills,
      postgresRestarts: faults.postgresRestarts(),
      statuses,
      settleMs: Date.now() - settleStarted,
    };
  } finally {
    await fleet.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Every few seconds one instance is killed with SIGKILL and started again after a moment; never
 * the last running instance of its service (a fleet keeps serving through a replica's death, not
 * through the death of all of them). PostgreSQL is restarted once, a third into the run.
 */
function injectFaults(fleet: Fleet, options: ChaosOptions, endAt: number) {
  const kills: string[] = [];
  let restarts = 0;
  const restartAt = Date.now() + options.durationMs / 3;
  const done = (async () => {
    while (Date.now() < endAt) {
      await sleep(options.killEveryMs * (0.5 + Math.random()));
      if (Date.now() >= endAt) break;
      if (options.restartPostgres && restarts === 0 && Date.now() >= restartAt) {
        options.log('restarting PostgreSQL');
        await fleet.restartPostgres();
        restarts++;
        continue;
      }
      const victim = pickVictim(fleet);
      if (!victim) continue;
      kills.push(victim.name);
      options.log(`killing ${victim.name} (SIGKILL)`);
      await victim.kill();
      await sleep(500 + Math.random() * 1000);
      await victim.start();
    }
  })();
  return { done, kills, postgresRestarts: () => restarts };
}

function pickVictim(fleet: Fleet): Instance | undefined {
  const candidates = [fleet.orders, fleet.payments].flatMap((group) =>
    group.filter((instance) => instance.running).length > 1
      ? group.filter((instance) => instance.running)
      : [],
  );
  return candidates[Math.floor(Math.random() * candidates.length)];
}
