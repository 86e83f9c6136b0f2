import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { status } from '@grpc/grpc-js';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import pg from 'pg';
import { createLogger, PinoNestLogger } from '#common/runtime/logging.js';
import type { CreatePaymentResponse } from '#contracts/generated/payments/v1/payments.js';
import { StripeStandIn } from '#stripe-stand-in/server.js';
import { createTestDatabase, type TestDatabase } from '#testing/database.js';
import { freePort } from '#testing/ports.js';
import { startPaymentsApp } from '../apps/payments/src/bootstrap.js';
import { loadPaymentsConfig } from '../apps/payments/src/config.js';
import { FakeOrders } from './support/fake-orders.js';
import { grpcClient, type RawGrpcClient } from './support/grpc.js';
import { waitFor } from './support/wait.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const MAX_ATTEMPTS = 3;

/** Collects on demand: what a metrics backend would receive from this instance. */
class CollectingReader extends MetricReader {
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

// Installed before payments starts, so its instruments are created on this provider.
const reader = new CollectingReader();
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));

async function metric(name: string): Promise<number> {
  const { resourceMetrics } = await reader.collect();
  const found = resourceMetrics.scopeMetrics
    .flatMap((scope) => scope.metrics)
    .find((m) => m.descriptor.name === name);
  return Number(found?.dataPoints.at(-1)?.value ?? 0);
}

/** The relay's backoffs between attempts add up: more time than most waits need. */
const until = <T>(what: string, probe: () => Promise<T | undefined>) =>
  waitFor(what, probe, { timeoutMs: 15_000 });

/** The operator command, as an operator runs it (built, in its own process). */
function replay(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [`${ROOT}dist/tools/outbox/replay.js`, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, NODE_ENV: 'test', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

/**
 * Notifications orders refuses for good are parked after OUTBOX_MAX_ATTEMPTS refusals, shown in
 * the metrics, readiness and the log, and replayed by the operator command; transient failures
 * are retried until orders answers. The real payments service (the relay, its database, gRPC)
 * against a scripted orders answering the status each test chooses.
 */
describe('parked outbox notifications', () => {
  let stripe: StripeStandIn;
  let database: TestDatabase;
  let orders: FakeOrders;
  let app: NestFastifyApplication;
  let payments: RawGrpcClient;
  let db: pg.Pool;
  let paymentsUrl: string;
  const logLines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    let httpPort: number, grpcPort: number;
    [stripe, database, orders, httpPort, grpcPort] = await Promise.all([
      StripeStandIn.start({ port: 0 }),
      createTestDatabase('payments'),
      FakeOrders.start(),
      freePort(),
      freePort(),
    ]);
    app = await startPaymentsApp(
      loadPaymentsConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: 'fatal',
        PAYMENTS_HTTP_PORT: String(httpPort),
        PAYMENTS_GRPC_PORT: String(grpcPort),
        PAYMENTS_DATABASE_URL: database.url,
        PAYMENTS_DATABASE_POOL_SIZE: '4',
        STRIPE_API_URL: stripe.url,
        STRIPE_MAX_NETWORK_RETRIES: '0',
        ORDERS_GRPC_URL: orders.url,
        OUTBOX_POLL_INTERVAL_MS: '50',
        OUTBOX_MAX_BACKOFF_MS: '100',
        OUTBOX_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
      }),
    );
    // The service's own JSON lines (same logger, same fields), written here instead of stdout.
    const destination = {
      write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>),
    };
    app.useLogger(
      new PinoNestLogger(createLogger({ service: 'payments', level: 'log', destination })),
    );
    paymentsUrl = `http://127.0.0.1:${httpPort}`;
    payments = grpcClient('payments', `127.0.0.1:${grpcPort}`);
    db = new pg.Pool({ connectionString: database.url, max: 2 });
  });

  afterAll(async () => {
    payments?.close();
    await db?.end();
    await app?.close();
    await Promise.all([orders?.stop(), stripe?.stop()]);
    await database?.drop();
  });

  /** A payment canceled through the API, which queues one notification for `orderId`. */
  async function canceledPayment(orderId: string): Promise<string> {
    const { payment } = await payments.call<CreatePaymentResponse>(
      'CreatePayment',
      { orderId, customerId: 'cus_parked', amount: { amount: '5000', currency: 'usd' } },
      { 'idempotency-key': randomUUID() },
    );
    await payments.call(
      'CancelPayment',
      { paymentId: payment!.id },
      {
        'idempotency-key': randomUUID(),
      },
    );
    return payment!.id;
  }

  const notification = async (paymentId: string) =>
    (
      await db.query<{
        delivered: boolean;
        parked: boolean;
        refusals: number;
        last_error: string | null;
      }>(
        `SELECT delivered_at IS NOT NULL AS delivered, parked_at IS NOT NULL AS parked, refusals,
                last_error
           FROM outbox WHERE payment_id = $1`,
        [paymentId],
      )
    ).rows[0];

  const parked = (paymentId: string) =>
    until(`payment ${paymentId}'s notification to be parked`, async () => {
      const row = await notification(paymentId);
      return row?.parked ? row : undefined;
    });

  const delivered = (paymentId: string) =>
    until(`payment ${paymentId}'s notification to be delivered`, async () =>
      (await notification(paymentId))?.delivered ? true : undefined,
    );

  /** Readiness as a probe sees it, once its details show `parked` (the check is shared for 1 s). */
  const readinessShowing = (count: number) =>
    until(`readiness to report ${count} parked`, async () => {
      const response = await fetch(`${paymentsUrl}/health/ready`);
      const body = (await response.json()) as { details: { outbox: { parked: number } } };
      return body.details.outbox.parked === count ? { status: response.status, body } : undefined;
    });

  it(`parks a notification orders refuses permanently after ${MAX_ATTEMPTS} attempts, visibly`, async () => {
    const before = { gauge: await metric('outbox.parked'), parks: await metric('outbox.parks') };
    const orderId = randomUUID();
    orders.answer(orderId, status.NOT_FOUND);
    const paymentId = await canceledPayment(orderId);

    expect(await parked(paymentId)).toMatchObject({
      refusals: MAX_ATTEMPTS,
      last_error: `gRPC 5 NOT_FOUND: Order ${orderId} does not exist.`,
    });
    // No more attempts: ten poll intervals (and backoffs) later orders has heard nothing new. A
    // fixed wait, as no condition can signal that nothing more will happen.
    await sleep(500);
    expect(orders.callsFor(orderId)).toHaveLength(MAX_ATTEMPTS);

    expect(await metric('outbox.parked')).toBe(before.gauge + 1);
    expect(await metric('outbox.parks')).toBe(before.parks + 1);
    // Still ready: parked notifications are for an operator, not a reason to refuse webhooks.
    const readiness = await readinessShowing(before.gauge + 1);
    expect(readiness.status).toBe(200);
    expect(readiness.body).toMatchObject({ status: 'ok', details: { outbox: { status: 'up' } } });

    const lines = logLines.filter((line) => line.payment_id === paymentId);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'error',
        context: 'OutboxRelay',
        order_id: orderId,
        msg: expect.stringContaining(`npm run outbox:replay -- ${paymentId}`) as unknown,
      }),
    ]);
  });

  it('keeps retrying a transient failure without ever parking it, until orders accepts', async () => {
    const orderId = randomUUID();
    orders.answer(orderId, status.UNAVAILABLE);
    const paymentId = await canceledPayment(orderId);

    await until(`${3 * MAX_ATTEMPTS} attempts`, () =>
      Promise.resolve(orders.callsFor(orderId).length >= 3 * MAX_ATTEMPTS ? true : undefined),
    );
    expect(await notification(paymentId)).toMatchObject({
      delivered: false,
      parked: false,
      refusals: 0,
    });
    orders.answer(orderId, status.OK);
    await delivered(paymentId);
  });

  it('replays parked notifications with the operator command once the cause is fixed', async () => {
    const [first, second] = [randomUUID(), randomUUID()];
    for (const orderId of [first, second]) orders.answer(orderId, status.NOT_FOUND);
    const [firstPayment, secondPayment] = await Promise.all([
      canceledPayment(first),
      canceledPayment(second),
    ]);
    await Promise.all([parked(firstPayment), parked(secondPayment)]);
    // orders learns of both orders (e.g. its deploy finished): parked ones still wait.
    for (const orderId of [first, second]) orders.answer(orderId, status.OK);
    const env = { PAYMENTS_DATABASE_URL: database.url };

    const list = await replay(['--list'], env);
    expect(list).toMatchObject({ code: 0, stderr: '' });
    for (const [paymentId, orderId] of [
      [firstPayment, first],
      [secondPayment, second],
    ]) {
      expect(list.stdout).toContain(`payment ${paymentId} version 2 (order ${orderId}), parked `);
      expect(list.stdout).toContain(`gRPC 5 NOT_FOUND: Order ${orderId} does not exist.`);
    }
    expect(orders.callsFor(first)).toHaveLength(MAX_ATTEMPTS);

    const one = await replay([firstPayment], env);
    expect(one).toMatchObject({ code: 0, stderr: '' });
    expect(one.stdout).toMatch(/^Re-queued 1 notification\(s\), due now:\n {2}payment /);
    expect(one.stdout).toContain(firstPayment);
    await delivered(firstPayment);
    expect(orders.callsFor(first).at(-1)?.answered).toBe(status.OK);
    expect(await notification(secondPayment)).toMatchObject({ delivered: false, parked: true });

    const all = await replay(['--all'], env);
    expect(all.code).toBe(0);
    expect(all.stdout).toContain(`payment ${secondPayment} version 2`);
    await delivered(secondPayment);

    // Failures say so in the exit code: nothing parked for that payment, no configuration.
    const [again, unconfigured] = await Promise.all([
      replay([firstPayment], env),
      replay(['--all'], {}),
    ]);
    expect(again).toMatchObject({ code: 1, stdout: expect.stringContaining('No parked') });
    expect(unconfigured.code).toBe(78);
    expect(unconfigured.stderr).toContain('PAYMENTS_DATABASE_URL');
  });
});
