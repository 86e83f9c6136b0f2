// Measures how fast orders answers POST /api/v1/orders while payments is down and the circuit is
// open: `npm run bench:circuit-open`. Loopback only; the measuring loop is bounded in time.
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startOrdersApp } from '../apps/orders/src/bootstrap.js';
import { loadOrdersConfig } from '../apps/orders/src/config.js';
import { PaymentsClient } from '../apps/orders/src/payments-client/payments.client.js';
import { freePort } from '#testing/ports.js';
import { createDatabaseIfMissing, startEmbeddedPostgres } from '#testing/embedded-postgres.js';
import { makeCredentials } from './suite/stack.js';

// Production refuses every development default: a key pair and gRPC tokens made for this run.
const credentials = await makeCredentials();
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 5000);
const body = JSON.stringify({
  currency: 'usd',
  items: [{ sku: 'SKU-1', name: 'T-shirt', quantity: 2, unitAmount: 1500 }],
});

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const dir = await mkdtemp(join(tmpdir(), 'bench-circuit-'));
// PostgreSQL runs as the `postgres` user when we are root; it must reach its data directory.
await chmod(dir, 0o711);
const postgres = await startEmbeddedPostgres({
  dataDir: join(dir, 'data'),
  port: await freePort(),
  throwaway: true,
});
try {
  await createDatabaseIfMissing(postgres.url(), 'orders');
  const [httpPort, grpcPort, deadPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const app = await startOrdersApp(
    loadOrdersConfig({
      NODE_ENV: 'production',
      LOG_LEVEL: 'fatal',
      ...credentials.jwt,
      ...credentials.grpc,
      ORDERS_HTTP_PORT: String(httpPort),
      ORDERS_GRPC_PORT: String(grpcPort),
      ORDERS_DATABASE_URL: postgres.url('orders'),
      // Nothing listens here: payments is down.
      PAYMENTS_GRPC_URL: `127.0.0.1:${deadPort}`,
      PAYMENTS_BREAKER_HALF_OPEN_AFTER_MS: String(DURATION_MS * 10),
      // One customer at full speed: measure the breaker, not the rate limiter's 429s.
      RATE_LIMIT_DEFAULT_LIMIT: '100000000',
      RATE_LIMIT_CHECKOUT_LIMIT: '100000000',
    }),
  );
  const token = credentials.customerToken;
  const post = () =>
    fetch(`http://127.0.0.1:${httpPort}/api/v1/orders`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'idempotency-key': randomUUID(),
      },
      body,
    });

  const client = app.get(PaymentsClient);
  let opening = 0;
  while (client.circuit !== 'open' && opening < 20) {
    await (await post()).text();
    opening++;
  }
  console.log(`circuit ${client.circuit} after ${opening} failed checkouts`);

  const latencies: number[] = [];
  let unexpected = 0;
  const end = performance.now() + DURATION_MS;
  while (performance.now() < end) {
    const started = performance.now();
    const response = await post();
    await response.text();
    latencies.push(performance.now() - started);
    if (response.status !== 503 || !response.headers.get('retry-after')) unexpected++;
  }
  latencies.sort((a, b) => a - b);
  const ms = (value: number) => `${value.toFixed(2)} ms`;
  console.log(
    [
      `POST /api/v1/orders with the circuit open, concurrency 1, ${DURATION_MS / 1000} s:`,
      `  requests ${latencies.length}, not 503+Retry-After ${unexpected}`,
      `  p50 ${ms(percentile(latencies, 50))}  p90 ${ms(percentile(latencies, 90))}  ` +
        `p99 ${ms(percentile(latencies, 99))}  max ${ms(latencies.at(-1)!)}`,
    ].join('\n'),
  );
  await app.close();
} finally {
  await postgres.stop();
  await rm(dir, { recursive: true, force: true });
}
