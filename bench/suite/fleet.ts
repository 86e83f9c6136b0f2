// The fleet scenario: the checkout through two orders and two payments instances on
// the same database server, each orders instance given half the connections (as a load balancer
// in front would), against the 1 + 1 checkout of the same run: what coordination costs.
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { STRIPE_WEBHOOK_EVENTS } from '#contracts/stripe-events.js';
import { freePort } from '#testing/ports.js';
import { StripeStandIn } from '../../tools/stripe-stand-in/server.js';
import type { PhaseResult } from './load.js';
import { checkout, type Phase } from './scenarios.js';
import {
  type Credentials,
  type DatabaseServer,
  ordersEnv,
  paymentsEnv,
  startService,
  stopProcess,
} from './stack.js';

const INSTANCES = 2;

export interface FleetStack {
  origins: string[];
  pids: Record<string, number>;
  settled(): Promise<void>;
  stop(): Promise<void>;
}

const target = (ports: number[]) => `ipv4:${ports.map((port) => `127.0.0.1:${port}`).join(',')}`;

/** Two payments and two orders processes, configured as startStack's (production, limits off). */
export async function startFleetStack(
  database: DatabaseServer,
  credentials: Credentials,
): Promise<FleetStack> {
  const databases = { orders: 'bench_fleet_orders', payments: 'bench_fleet_payments' };
  await database.create(databases.orders);
  await database.create(databases.payments);
  const ports = async () => Promise.all(Array.from({ length: INSTANCES }, () => freePort()));
  const [ordersHttp, ordersGrpc, paymentsHttp, paymentsGrpc] = [
    await ports(),
    await ports(),
    await ports(),
    await ports(),
  ];
  const stripe = await StripeStandIn.start({ port: 0 });
  const webhookSecret = `whsec_${randomBytes(24).toString('hex')}`;
  // A load balancer in front of payments: each delivery to the next instance.
  stripe.setWebhook(
    paymentsHttp.map((port) => `http://127.0.0.1:${port}/webhooks/stripe`),
    webhookSecret,
    STRIPE_WEBHOOK_EVENTS,
  );
  const children: { name: string; child: ChildProcess }[] = [];
  const stop = async () => {
    for (const { child } of children.reverse()) await stopProcess(child);
    await stripe.stop();
  };
  try {
    // payments first, both at once (their migrations take turns under the lock), then orders.
    const payments = await Promise.all(
      paymentsHttp.map((http, i) =>
        startService(
          'payments',
          paymentsEnv(credentials, {
            stripeUrl: stripe.url,
            webhookSecret,
            httpPort: http,
            grpcPort: paymentsGrpc[i],
            databaseUrl: database.url(databases.payments),
            ordersTarget: target(ordersGrpc),
          }),
          http,
        ),
      ),
    );
    children.push(...payments.map((child, i) => ({ name: `fleet payments-${i + 1}`, child })));
    const orders = await Promise.all(
      ordersHttp.map((http, i) =>
        startService(
          'orders',
          ordersEnv(credentials, {
            httpPort: http,
            grpcPort: ordersGrpc[i],
            databaseUrl: database.url(databases.orders),
            paymentsTarget: target(paymentsGrpc),
          }),
          http,
        ),
      ),
    );
    children.push(...orders.map((child, i) => ({ name: `fleet orders-${i + 1}`, child })));
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    origins: ordersHttp.map((port) => `http://127.0.0.1:${port}`),
    pids: Object.fromEntries(children.map(({ name, child }) => [name, child.pid!])),
    settled: () => stripe.webhooksIdle(),
    stop,
  };
}

/**
 * `connections` checkouts at a time, split evenly over the orders instances; one result, as if
 * one load balancer had taken them all: requests and throughput summed, latencies the slower
 * instance's (a conservative merge of two percentiles).
 */
export async function fleetCheckout(
  fleet: FleetStack,
  connections: number,
  phase: Phase,
): Promise<PhaseResult> {
  const share = Math.ceil(connections / fleet.origins.length);
  const parts = await Promise.all(
    fleet.origins.map((origin, i) =>
      checkout(
        { label: `fleet orders-${i + 1}`, origin, pids: i === 0 ? fleet.pids : {} },
        share,
        phase,
      ),
    ),
  );
  return {
    requests: parts.reduce((sum, part) => sum + part.requests, 0),
    rps: parts.reduce((sum, part) => sum + part.rps, 0),
    p50: Math.max(...parts.map((part) => part.p50)),
    p99: Math.max(...parts.map((part) => part.p99)),
    errors: parts.reduce((sum, part) => sum + part.errors, 0),
    processes: parts[0].processes,
  };
}
