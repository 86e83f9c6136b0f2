// `npm run bench:tracing`: POST /api/v1/orders throughput with tracing off versus on (every
// request sampled, exported over OTLP to a local sink), both services as production processes.
// Both stacks run side by side and take turns under load in short phases (off, on, on, off, ...),
// so that the machine's drift (other tenants, checkpoints, thermal) falls on both alike. The load
// is the suite's checkout scenario (autocannon, c=32); each phase also records the CPU each process
// spent per checkout, which says where tracing's cost lands. Loopback only; every phase is bounded.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchAlways, type PhaseResult } from './suite/load.js';
import { median } from './suite/report.js';
import { checkout, stackTarget, type Target } from './suite/scenarios.js';
import {
  makeCredentials,
  type Stack,
  startDatabaseServer,
  startOtlpSink,
  startStack,
} from './suite/stack.js';

const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 2000);
const CYCLES = Number(process.env.BENCH_CYCLES ?? 10);

type Mode = 'off' | 'on';

const dir = await mkdtemp(join(tmpdir(), 'bench-tracing-'));
// PostgreSQL runs as the `postgres` user when we are root; it must reach its data directory.
await chmod(dir, 0o711);
const database = await startDatabaseServer(process.env.BENCH_DATABASE_URL, dir);
if (database.pids) watchAlways('postgres', database.pids);
watchAlways('bench', process.pid); // autocannon, the Stripe stand-ins and the OTLP sink
const sink = await startOtlpSink();
const phases: Record<Mode, PhaseResult[]> = { off: [], on: [] };
const stacks: Stack[] = [];

try {
  const credentials = await makeCredentials();
  const phase = { durationMs: PHASE_MS, token: credentials.customerToken };
  const targets = {} as Record<Mode, Target>;
  for (const mode of ['off', 'on'] as const) {
    const stack = await startStack({
      label: `tracing_${mode}`,
      database,
      credentials,
      otlpEndpoint: mode === 'on' ? sink.url : undefined,
    });
    stacks.push(stack);
    targets[mode] = stackTarget(stack, `tracing ${mode}`);
    await checkout(targets[mode], 32, { ...phase, durationMs: 1500 }); // JIT, pools, caches
  }
  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    // off-on, then on-off: a trend within a cycle cancels out over two.
    const order: Mode[] = cycle % 2 === 1 ? ['off', 'on'] : ['on', 'off'];
    for (const mode of order) {
      phases[mode].push(await checkout(targets[mode], 32, phase));
      await targets[mode].settled?.();
    }
  }
  const ratios = phases.on.map((on, i) => on.rps / phases.off[i].rps);
  const cpuPerCheckout = (mode: Mode, process: string) =>
    median(phases[mode].map((p) => (1000 * (p.processes[process]?.cpuSeconds ?? 0)) / p.requests));
  const line = (mode: Mode) => {
    const cpu = ['orders', 'payments', 'postgres', 'bench']
      .map((name) => `${name} ${cpuPerCheckout(mode, name).toFixed(2)}`)
      .join(', ');
    return (
      `  tracing ${mode.padEnd(3)} ${median(phases[mode].map((p) => p.rps))
        .toFixed(0)
        .padStart(5)} req/s, ` +
      `p50 ${median(phases[mode].map((p) => p.p50)).toFixed(1)} ms, ` +
      `p99 ${median(phases[mode].map((p) => p.p99)).toFixed(1)} ms, ` +
      `errors ${phases[mode].reduce((sum, p) => sum + p.errors, 0)}; CPU ms per checkout: ${cpu}`
    );
  };
  console.log(
    `\nPOST /api/v1/orders, concurrency 32, ${CYCLES} cycles of ${PHASE_MS / 1000} s phases ` +
      `per mode (medians):\n${line('off')}\n${line('on')}\n` +
      `  on/off throughput ${median(ratios).toFixed(2)} (median of per-cycle ratios; ` +
      `range ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`,
  );
} finally {
  for (const stack of stacks) await stack.stop();
  await sink.stop();
  await database.stop();
  await rm(dir, { recursive: true, force: true });
}
