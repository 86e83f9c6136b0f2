// `npm run demo`: the whole payment lifecycle, offline, in one process. An embedded PostgreSQL, the
// Stripe stand-in and both services start on free loopback ports; then a storefront creates an
// order, the customer pays it through the stand-in, the signed webhook turns the order `paid`,
// and part of it is refunded. Everything is stopped and thrown away at the end.
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Stripe from 'stripe';
import {
  DEV_JWT_SECRET,
  DEV_WEBHOOK_SECRET,
  STAND_IN_STRIPE_KEY,
} from '#common/config/defaults.js';
import { startOrdersApp } from '../../apps/orders/src/bootstrap.js';
import { loadOrdersConfig } from '../../apps/orders/src/config.js';
import { startPaymentsApp } from '../../apps/payments/src/bootstrap.js';
import { loadPaymentsConfig } from '../../apps/payments/src/config.js';
import { StripeStandIn } from '../stripe-stand-in/server.js';
import { STRIPE_WEBHOOK_EVENTS } from '#contracts/stripe-events.js';
import { freePort } from '#testing/ports.js';
import { createDatabaseIfMissing, startEmbeddedPostgres } from '#testing/embedded-postgres.js';
import { signDevToken } from './token.js';

interface OrderView {
  id: string;
  status: string;
  amount: number;
  amountRefunded?: number;
  currency: string;
  payment: { id: string; status: string; clientSecret: string | null } | null;
}

const started = performance.now();
const step = (text: string) =>
  console.log(`[${((performance.now() - started) / 1000).toFixed(2).padStart(6)} s] ${text}`);
const cleanups: (() => Promise<unknown>)[] = [];

async function main(): Promise<void> {
  step('Starting an embedded PostgreSQL (thrown away at the end)');
  const dir = await mkdtemp(join(tmpdir(), 'orders-payments-demo-'));
  await chmod(dir, 0o711); // reachable by the `postgres` user when we run as root
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const postgres = await startEmbeddedPostgres({
    dataDir: join(dir, 'data'),
    port: await freePort(),
    throwaway: true,
  });
  cleanups.push(() => postgres.stop());
  await createDatabaseIfMissing(postgres.url(), 'orders');
  await createDatabaseIfMissing(postgres.url(), 'payments');

  const [ordersHttp, ordersGrpc, paymentsHttp, paymentsGrpc] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  step('Starting the offline Stripe stand-in, signing webhooks for payments');
  const stripeStandIn = await StripeStandIn.start({
    port: 0,
    webhook: {
      url: `http://127.0.0.1:${paymentsHttp}/webhooks/stripe`,
      secret: DEV_WEBHOOK_SECRET,
      enabledEvents: STRIPE_WEBHOOK_EVENTS,
    },
  });
  cleanups.push(() => stripeStandIn.stop());

  step('Starting payments and orders');
  const payments = await startPaymentsApp(
    loadPaymentsConfig({
      NODE_ENV: 'development',
      LOG_LEVEL: 'error',
      PAYMENTS_HTTP_PORT: String(paymentsHttp),
      PAYMENTS_GRPC_PORT: String(paymentsGrpc),
      PAYMENTS_DATABASE_URL: postgres.url('payments'),
      STRIPE_API_URL: stripeStandIn.url,
      ORDERS_GRPC_URL: `127.0.0.1:${ordersGrpc}`,
      OUTBOX_POLL_INTERVAL_MS: '200',
    }),
  );
  cleanups.push(() => payments.close());
  const orders = await startOrdersApp(
    loadOrdersConfig({
      NODE_ENV: 'development',
      LOG_LEVEL: 'error',
      ORDERS_HTTP_PORT: String(ordersHttp),
      ORDERS_GRPC_PORT: String(ordersGrpc),
      ORDERS_DATABASE_URL: postgres.url('orders'),
      PAYMENTS_GRPC_URL: `127.0.0.1:${paymentsGrpc}`,
    }),
  );
  cleanups.push(() => orders.close());

  const api = `http://127.0.0.1:${ordersHttp}/api/v1/orders`;
  // The demo's orders ignores the shell's JWT_* settings, so its token does too.
  const token = await signDevToken('demo-customer', { secret: DEV_JWT_SECRET, privateKey: '' });
  const call = async (path: string, body?: unknown): Promise<unknown> => {
    const response = await fetch(`${api}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined && {
          'content-type': 'application/json',
          'idempotency-key': randomUUID(),
        }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${response.status} from ${path || '/'}: ${text}`);
    return JSON.parse(text) as unknown;
  };
  const waitForStatus = async (id: string, status: string): Promise<OrderView> => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const order = (await call(`/${id}`)) as OrderView;
      if (order.status === status) return order;
      if (Date.now() > deadline) throw new Error(`order ${id} is ${order.status}, not ${status}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  step('Storefront: POST /api/v1/orders (2 x T-shirt at 15.00 USD, 1 x Mug at 8.99 USD)');
  const order = (await call('', {
    currency: 'usd',
    items: [
      { sku: 'TSHIRT-M', name: 'T-shirt', quantity: 2, unitAmount: 1500 },
      { sku: 'MUG', name: 'Mug', quantity: 1, unitAmount: 899 },
    ],
  })) as OrderView;
  step(`  order ${order.id}: ${order.status}, ${order.amount} ${order.currency} (server-computed)`);
  const intentId = order.payment?.clientSecret?.split('_secret_')[0] ?? '';
  step(`  PaymentIntent ${intentId}, client secret handed to the browser`);

  step('Customer: pays with a test Visa (pm_card_visa) through "Stripe"');
  const stripe = new Stripe(STAND_IN_STRIPE_KEY, {
    host: '127.0.0.1',
    port: new URL(stripeStandIn.url).port,
    protocol: 'http',
  });
  const confirmed = await stripe.paymentIntents.confirm(intentId, {
    payment_method: 'pm_card_visa',
  });
  step(`  Stripe: PaymentIntent ${confirmed.status}; webhook on its way to payments`);

  const paid = await waitForStatus(order.id, 'paid');
  step(`  orders: ${paid.status} (Stripe webhook -> payments -> outbox -> gRPC -> orders)`);

  step('Support: refund 10.00 USD of it (POST /api/v1/orders/:id/refunds)');
  const refund = (await call(`/${order.id}/refunds`, {
    amount: 1000,
    reason: 'requested_by_customer',
  })) as { refund: { id: string; status: string; amount: number } };
  step(`  refund ${refund.refund.id}: ${refund.refund.status}, ${refund.refund.amount} usd`);
  const refunded = await waitForStatus(order.id, 'partially_refunded');
  step(
    `  orders: ${refunded.status}, ${refunded.amountRefunded ?? '?'} of ${refunded.amount} refunded`,
  );

  await stripeStandIn.webhooksIdle();
  const events = stripeStandIn.events();
  const sent = new Set(stripeStandIn.deliveries().map((d) => d.eventId));
  const list = (of: typeof events) => of.map((e) => e.type).join(', ');
  step(
    `Stripe emitted ${events.length} events and sent payments the ${sent.size} it subscribes to: ` +
      `${list(events.filter((e) => sent.has(e.id)))} (not sent: ${list(events.filter((e) => !sent.has(e.id)))})`,
  );
}

try {
  await main();
  step('Done. Stopping everything.');
} catch (error) {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
}
