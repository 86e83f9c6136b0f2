// `npm run bench:tracing`: POST /api/v1/orders throughput with tracing off versus on (every
// request sampled, exported over OTLP to a local sink), both services as production processes.
// Both stacks run side by side and take turns under load in short phases (off, on, on, off, ...),
// so that the machine's drift (other tenants, checkpoints, thermal) falls on both alike.
// Loopback only; every load phase is bounded in time.
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  makeCredentials,
  type Stack,
  startDatabaseServer,
  startOtlpSink,
  startStack,
} from './suite/stack.js';

const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 3000);
const CYCLES = Number(process.env.BENCH_CYCLES ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const body = JSON.stringify({
  currency: 'usd',
  items: [{ sku: 'SKU-1', name: 'T-shirt', quantity: 2, unitAmount: 1500 }],
});

interface Phase {
  latencies: number[];
  errors: number;
}

async function load(url: string, token: string): Promise<Phase> {
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + PHASE_MS;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const started = performance.now();
        const response = await fetch(url, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'idempotency-key': randomUUID(),
          },
          body,
        });
        await response.arrayBuffer();
        if (response.status !== 201) errors++;
        latencies.push(performance.now() - started);
      }
    }),
  );
  return { latencies, errors };
}

type Mode = 'off' | 'on';

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

const dir = await mkdtemp(join(tmpdir(), 'bench-tracing-'));
// PostgreSQL runs as the `postgres` user when we are root; it must reach its data directory.
await chmod(dir, 0o711);
const database = await startDatabaseServer(process.env.BENCH_DATABASE_URL, dir);
const sink = await startOtlpSink();
const phases: Record<Mode, Phase[]> = { off: [], on: [] };
const stacks: Stack[] = [];

try {
  const credentials = await makeCredentials();
  const token = credentials.customerToken;
  const urls = {} as Record<Mode, string>;
  const stripes = {} as Record<Mode, Stack['stripe']>;
  for (const mode of ['off', 'on'] as const) {
    const stack = await startStack({
      label: `tracing_${mode}`,
      database,
      credentials,
      otlpEndpoint: mode === 'on' ? sink.url : undefined,
    });
    stacks.push(stack);
    urls[mode] = `${stack.ordersUrl}/api/v1/orders`;
    stripes[mode] = stack.stripe;
    await load(urls[mode], token); // warm-up: JIT, pools, caches
  }
  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    // off-on, then on-off: a trend within a cycle cancels out over two.
    const order: Mode[] = cycle % 2 === 1 ? ['off', 'on'] : ['on', 'off'];
    const rates: Partial<Record<Mode, number>> = {};
    for (const mode of order) {
      const phase = await load(urls[mode], token);
      phases[mode].push(phase);
      // Drain the webhooks the phase set off (payment_intent.created) before the other mode's
      // phase, so that they load the stack that caused them.
      await stripes[mode].webhooksIdle();
      rates[mode] = phase.latencies.length / (PHASE_MS / 1000);
    }
    console.log(
      `cycle ${cycle}/${CYCLES}: off ${rates.off!.toFixed(0)} req/s, on ${rates.on!.toFixed(0)} req/s, ` +
        `on/off ${(rates.on! / rates.off!).toFixed(2)}`,
    );
  }
  const summary = (mode: Mode) => {
    const latencies = phases[mode].flatMap((p) => p.latencies).sort((a, b) => a - b);
    return {
      rps: latencies.length / ((CYCLES * PHASE_MS) / 1000),
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      errors: phases[mode].reduce((sum, p) => sum + p.errors, 0),
    };
  };
  const off = summary('off');
  const on = summary('on');
  const line = (mode: Mode, r: typeof off) =>
    `  tracing ${mode.padEnd(3)} ${r.rps.toFixed(0).padStart(5)} req/s, p50 ${r.p50.toFixed(1)} ms, ` +
    `p99 ${r.p99.toFixed(1)} ms, errors ${r.errors}`;
  console.log(
    `\nPOST /api/v1/orders, concurrency ${CONCURRENCY}, ${CYCLES} cycles of ${PHASE_MS / 1000} s ` +
      `phases per mode:\n${line('off', off)}\n${line('on', on)}\n` +
      `  on/off throughput ${(on.rps / off.rps).toFixed(2)}`,
  );
} finally {
  for (const stack of stacks) await stack.stop();
  await sink.stop();
  await database.stop();
  await rm(dir, { recursive: true, force: true });
}
