// `npm run bench`: the benchmark suite. Both services run as production processes
// against PostgreSQL (embedded, or BENCH_DATABASE_URL) and the Stripe stand-in; autocannon drives
// each scenario for BENCH_DURATION_MS per round, BENCH_ROUNDS rounds, medians reported. Progress
// goes to stderr, the table to stdout, the figures to bench/results/latest.json (or BENCH_OUTPUT).
// Loopback only; every phase is bounded in time. Missed targets are reported, not fatal.
//
// The tracing scenario measures what tracing costs against an anchor: the raw-library reference
// (bench/reference) with the same SDK and instrumentations preloaded. Five checkouts take turns in
// each of its rounds: ours traced, ours untraced, ours with a sampled share of traces, the
// reference untraced and traced; each on/off pair runs back to back, so the VM's drift falls on
// both halves of a ratio alike.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { StripeStandIn } from '../../tools/stripe-stand-in/server.js';
import { watchAlways, type PhaseResult } from './load.js';
import { memoryMb } from './process-metrics.js';
import { check, describeCheck, median, summarise, table, type Check, type Row } from './report.js';
import {
  checkout,
  circuitOpen,
  openCircuit,
  payIntents,
  read,
  replay,
  stackTarget,
  webhooks,
  type Checkout,
  type Target,
  type WebhookResult,
} from './scenarios.js';
import { CHECKOUT_CONNECTIONS, webhookFlood, type FloodRound } from './webhook-flood.js';
import { fleetCheckout, startFleetStack, type FleetStack } from './fleet.js';
import {
  ROOT,
  makeCredentials,
  startDatabaseServer,
  startOtlpSink,
  startStack,
  tracingEnv,
  type OtlpSink,
  type Stack,
} from './stack.js';

const SCENARIOS = [
  'checkout',
  'checkout-c1',
  'replay',
  'read',
  'webhook',
  'circuit-open',
  'webhook-flood',
  'fleet',
  'tracing',
  'reference',
] as const;
type Scenario = (typeof SCENARIOS)[number];

/** One checkout of the tracing scenario: its results key and its orders and payments processes. */
interface TracingMode {
  key: string;
  target: Target;
  processes: readonly [string, string];
  /** Where it exports, when traced. */
  sink?: OtlpSink;
  /** Checkouts answered in all its phases, warm-up included, and the bytes it exported then. */
  sent: number;
  exportedBytes?: number;
}

/** Tracing on against off: throughput ratio and each process's CPU per checkout, in ms. */
interface TracingCost {
  ratio: number;
  min: number;
  max: number;
  /** OTLP sent per checkout (spans, and metrics every 60 s), in KB. */
  exportedKbPerCheckout: number | null;
  ordersCpuMs: { off: number; on: number; added: number };
  paymentsCpuMs: { off: number; on: number; added: number };
}

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}

function selectedScenarios(): Set<Scenario> {
  const raw = process.env.BENCH_SCENARIOS?.trim();
  if (!raw) return new Set(SCENARIOS);
  const chosen = new Set<Scenario>();
  for (const name of raw.split(',').map((s) => s.trim())) {
    if (!(SCENARIOS as readonly string[]).includes(name)) {
      throw new Error(`BENCH_SCENARIOS: unknown '${name}'; known: ${SCENARIOS.join(', ')}`);
    }
    chosen.add(name as Scenario);
  }
  // These need the orders checkout creates, or are compared with it.
  if (['replay', 'read', 'webhook', 'reference', 'fleet'].some((s) => chosen.has(s as Scenario)))
    chosen.add('checkout');
  return chosen;
}

/** The contract of bench/reference/start.ts: a raw-library checkout, started on demand. */
interface ReferenceModule {
  startReference(options: {
    postgresUrl: (database: string) => string;
    createDatabase: (name: string) => Promise<void>;
    stripeUrl: string;
    jwtPublicKeyPem: string;
    jwtIssuer: string;
    jwtAudience: string;
    /** OTEL_* settings: given, both processes preload the services' SDK with them. */
    telemetry?: Record<string, string>;
  }): Promise<{ url: string; pids: number[]; stop(): Promise<void> }>;
}

async function loadReference(): Promise<ReferenceModule | string> {
  // A variable specifier: the reference is a separate piece and may be absent from this tree.
  const specifier = '../reference/start.js';
  try {
    return (await import(specifier)) as ReferenceModule;
  } catch (error) {
    return (error as Error).message;
  }
}

/** The share of traces the sampled mode of the tracing scenario keeps. */
const SAMPLING_RATIO = 0.1;

const durationMs = positiveInt('BENCH_DURATION_MS', 5000);
const settings = {
  durationMs,
  rounds: positiveInt('BENCH_ROUNDS', 3),
  // Shorter phases and more rounds than the others: a ratio of two adjacent phases, many times.
  tracingRounds: positiveInt('BENCH_TRACING_ROUNDS', 6),
  tracingPhaseMs: positiveInt('BENCH_TRACING_PHASE_MS', Math.min(2500, durationMs)),
  scenarios: selectedScenarios(),
  output: resolve(process.env.BENCH_OUTPUT ?? join(ROOT, 'bench/results/latest.json')),
};
const has = (scenario: Scenario) => settings.scenarios.has(scenario);
const log = (line: string) => process.stderr.write(`${line}\n`);

const cleanups: (() => Promise<unknown>)[] = [];
async function cleanUp(): Promise<void> {
  for (let step = cleanups.pop(); step; step = cleanups.pop()) {
    await step().catch((error: unknown) => log(`cleanup failed: ${String(error)}`));
  }
}
process.once('SIGINT', () => {
  log('\ninterrupted: stopping everything');
  void cleanUp().finally(() => process.exit(130));
});

const startedAt = new Date();
const dir = await mkdtemp(join(tmpdir(), 'bench-suite-'));
cleanups.push(() => rm(dir, { recursive: true, force: true }));
try {
  // PostgreSQL runs as the `postgres` user when we are root; it must reach its data directory.
  await chmod(dir, 0o711);
  log(`bench: ${settings.rounds} rounds of ${settings.durationMs} ms per scenario`);
  log(process.env.BENCH_DATABASE_URL ? 'using BENCH_DATABASE_URL' : 'starting embedded PostgreSQL');
  const database = await startDatabaseServer(process.env.BENCH_DATABASE_URL, dir);
  cleanups.push(() => database.stop());
  // Their CPU shares the two cores with the services: worth seeing beside them.
  watchAlways('bench', process.pid); // autocannon, the Stripe stand-ins, the OTLP sink
  if (database.pids) watchAlways('postgres', database.pids);
  const credentials = await makeCredentials();
  const phase = { durationMs: settings.durationMs, token: credentials.customerToken };

  log('starting orders and payments (production, tracing off)');
  const main = await startStack({ label: 'main', database, credentials });
  cleanups.push(() => main.stop());
  let traced: Stack | undefined;
  let sampled: Stack | undefined;
  // One sink per traced checkout: what each exports, per checkout, is worth seeing.
  const sinks: Partial<Record<'traced' | 'sampled' | 'reference', OtlpSink>> = {};
  if (has('tracing')) {
    for (const name of ['traced', 'sampled', 'reference'] as const) {
      const sink = await startOtlpSink();
      cleanups.push(() => sink.stop());
      sinks[name] = sink;
    }
    log('starting a second stack with tracing on (every request, OTLP to a local sink)');
    traced = await startStack({
      label: 'traced',
      database,
      credentials,
      otlpEndpoint: sinks.traced!.url,
    });
    cleanups.push(() => traced!.stop());
    log(`starting a third stack with tracing on, ${SAMPLING_RATIO * 100} % of traces sampled`);
    sampled = await startStack({
      label: 'sampled',
      database,
      credentials,
      otlpEndpoint: sinks.sampled!.url,
      samplingRatio: SAMPLING_RATIO,
    });
    cleanups.push(() => sampled!.stop());
  }
  let fleet: FleetStack | undefined;
  if (has('fleet')) {
    log('starting a fleet: 2 payments and 2 orders instances on the same database server');
    fleet = await startFleetStack(database, credentials);
    cleanups.push(() => fleet!.stop());
  }
  let reference: Target | undefined;
  let tracedReference: Target | undefined;
  let referenceStatus = 'not selected';
  if (has('reference') || has('tracing')) {
    const loaded = await loadReference();
    if (typeof loaded === 'string') {
      referenceStatus = `not available (${loaded})`;
    } else {
      const startReference = async (label: string, suffix: string, otlpEndpoint?: string) => {
        // Its own stand-in, without a webhook endpoint: nothing of ours runs while it is measured.
        const stripe = await StripeStandIn.start({ port: 0 });
        cleanups.push(() => stripe.stop());
        const running = await loaded.startReference({
          postgresUrl: (name) => database.url(name),
          createDatabase: (name) => database.create(name),
          stripeUrl: stripe.url,
          jwtPublicKeyPem: credentials.jwt.JWT_PUBLIC_KEY,
          jwtIssuer: credentials.jwt.JWT_ISSUER,
          jwtAudience: credentials.jwt.JWT_AUDIENCE,
          telemetry: otlpEndpoint === undefined ? undefined : tracingEnv(otlpEndpoint),
        });
        cleanups.push(() => running.stop());
        // startReference returns [orders, payments].
        const names = ['ref-orders', 'ref-payments'].map((name) => `${name}${suffix}`);
        return {
          label,
          origin: new URL(running.url).origin,
          pids: Object.fromEntries(running.pids.map((pid, i) => [names[i], pid])),
        } satisfies Target;
      };
      log('starting the reference');
      reference = await startReference('reference', '');
      if (sinks.reference) {
        log('starting a second reference with tracing on (our SDK preloaded, the same settings)');
        tracedReference = await startReference(
          'reference, tracing on',
          ' (tracing on)',
          sinks.reference.url,
        );
      }
      referenceStatus = 'available';
    }
    if (!reference) log(`reference: ${referenceStatus}`);
  }

  // Peak RSS over each process's whole life (VmHWM), read before payments is stopped for the
  // circuit-open scenario and again at the end.
  const services: Record<string, number | undefined> = {
    orders: main.processes.orders.pid,
    payments: main.processes.payments.pid,
    'orders (tracing on)': traced?.processes.orders.pid,
    'payments (tracing on)': traced?.processes.payments.pid,
    'orders (sampled)': sampled?.processes.orders.pid,
    'payments (sampled)': sampled?.processes.payments.pid,
    ...(reference?.pids ?? {}),
    ...(tracedReference?.pids ?? {}),
  };
  const highWater: Record<string, number> = {};
  const recordHighWater = () => {
    for (const [name, pid] of Object.entries(services)) {
      const mb = pid === undefined ? null : memoryMb(pid, 'VmHWM');
      if (mb !== null) highWater[name] = Math.max(mb, highWater[name] ?? 0);
    }
  };
  const ours = stackTarget(main, 'ours');
  const checkouts: Checkout[] = [];
  const results = new Map<string, PhaseResult[]>();
  const add = (key: string, result: PhaseResult) =>
    results.set(key, [...(results.get(key) ?? []), result]);
  const rounds = Array.from({ length: settings.rounds }, (_, i) => i + 1);
  const banner = (name: string, round: number) =>
    log(`[${name}] round ${round}/${settings.rounds}`);

  if (has('checkout')) {
    const targets = [ours, has('reference') ? reference : undefined].filter(
      (t): t is Target => t !== undefined,
    );
    log('[warm-up] JIT, pools and caches of every checkout');
    for (const target of targets) {
      await checkout(target, 32, { ...phase, durationMs: Math.min(2000, phase.durationMs) });
    }
    if (fleet)
      await fleetCheckout(fleet, 32, { ...phase, durationMs: Math.min(2000, phase.durationMs) });
    for (const round of rounds) {
      banner('checkout c=32', round);
      // Each round starts with another target: a drift of the machine falls on all alike.
      const order = targets.map((_, i) => targets[(i + round - 1) % targets.length]);
      for (const target of order) {
        add(
          target.label,
          await checkout(target, 32, phase, target === ours ? checkouts : undefined),
        );
        // The webhooks each checkout sets off (payment_intent.created) are drained before the next
        // target's phase, so that they load the stack that caused them, not the next one measured.
        const started = performance.now();
        await target.settled?.();
        log(
          `  ${target.label}: webhooks drained ${(performance.now() - started).toFixed(0)} ms after the phase`,
        );
      }
      if (fleet) {
        // The same checkout through 2 + 2 instances, in the same round as the 1 + 1 one.
        add('fleet', await fleetCheckout(fleet, 32, phase));
        await fleet.settled();
      }
    }
  }
  const tracingModes = tracingModesOf();
  /** The tracing scenario's checkouts, with the names their orders and payments processes have. */
  function tracingModesOf(): TracingMode[] {
    if (!traced || !sampled) return [];
    const ourProcesses = ['orders', 'payments'] as const;
    const modes: TracingMode[] = [
      {
        key: 'tracing on',
        target: stackTarget(traced, 'tracing on'),
        processes: ourProcesses,
        sink: sinks.traced,
        sent: 0,
      },
      { key: 'tracing off', target: ours, processes: ourProcesses, sent: 0 },
      {
        key: 'tracing sampled',
        target: stackTarget(sampled, `tracing ${SAMPLING_RATIO * 100} %`),
        processes: ourProcesses,
        sink: sinks.sampled,
        sent: 0,
      },
    ];
    if (reference && tracedReference) {
      const refProcesses = (target: Target) => Object.keys(target.pids) as [string, string];
      modes.push(
        {
          key: 'reference tracing off',
          target: reference,
          processes: refProcesses(reference),
          sent: 0,
        },
        {
          key: 'reference tracing on',
          target: tracedReference,
          processes: refProcesses(tracedReference),
          sink: sinks.reference,
          sent: 0,
        },
      );
    }
    return modes;
  }
  if (tracingModes.length) {
    const tracingPhase = { ...phase, durationMs: settings.tracingPhaseMs };
    log('[warm-up] JIT, pools and caches of every tracing mode');
    for (const mode of tracingModes) {
      const warmUp = { ...phase, durationMs: Math.min(2000, phase.durationMs) };
      mode.sent += (await checkout(mode.target, 32, warmUp)).requests;
      await mode.target.settled?.();
    }
    for (let round = 1; round <= settings.tracingRounds; round++) {
      log(`[tracing, checkout c=32] round ${round}/${settings.tracingRounds}`);
      // Reversed every other round: a trend within a round cancels out over two; each on/off
      // pair (ours, the reference's) and ours off/sampled stay back to back either way.
      const order = round % 2 ? tracingModes : [...tracingModes].reverse();
      for (const mode of order) {
        const result = await checkout(mode.target, 32, tracingPhase);
        add(mode.key, result);
        mode.sent += result.requests;
        await mode.target.settled?.();
      }
    }
    // The batch span processors export every 5 s (OTEL_BSP_SCHEDULE_DELAY): the last spans too.
    await sleep(5500);
    for (const mode of tracingModes) mode.exportedBytes = mode.sink?.bytes();
  }
  if (has('checkout-c1')) {
    for (const round of rounds) {
      banner('checkout c=1', round);
      add('checkout-c1', await checkout(ours, 1, phase, checkouts));
    }
  }
  if (has('replay')) {
    for (const round of rounds) {
      banner('replay c=32', round);
      add('replay', await replay(ours, checkouts, phase));
    }
  }
  if (has('read')) {
    for (const round of rounds) {
      banner('read c=32', round);
      add('read', await read(ours, checkouts, phase));
    }
  }
  const webhookResults: WebhookResult[] = [];
  if (has('webhook')) {
    log(`[webhook] paying ${checkouts.length} PaymentIntents at the stand-in`);
    const events = await payIntents(main, checkouts);
    const perRound = Math.ceil(events.length / settings.rounds);
    for (const round of rounds) {
      banner('webhook c=32', round);
      const batch = events.slice((round - 1) * perRound, round * perRound);
      if (batch.length === 0) continue;
      const result = await webhooks(main, batch, phase);
      webhookResults.push(result);
      add('webhook', result);
    }
  }
  const floods: FloodRound[] = [];
  if (has('webhook-flood')) {
    for (const round of rounds) {
      banner('webhook flood', round);
      floods.push(...(await webhookFlood(main, ours, phase)));
    }
    for (const flood of floods) {
      add(`checkout beside ${flood.forgery}`, flood.attacked);
      add(`checkout beside ${flood.forgery}, alone`, flood.alone);
    }
  }
  if (has('circuit-open')) {
    recordHighWater();
    log('[circuit open] stopping payments and tripping the breaker');
    await openCircuit(main, phase.token);
    for (const round of rounds) {
      banner('circuit open c=1', round);
      add('circuit-open', await circuitOpen(ours, phase));
    }
  }

  /** Per forgery: its CPU per body, and the checkout beside it against the checkout alone. */
  function floodRows(all: FloodRound[]): Row[] {
    return [...new Set(all.map((f) => f.forgery))].flatMap((forgery) => {
      const mine = all.filter((f) => f.forgery === forgery);
      const cpu = mine.flatMap((f) => (f.cpuMsPerBody === null ? [] : [f.cpuMsPerBody]));
      const p50Ratio = median(mine.map((f) => f.attacked.p50 / f.alone.p50));
      const rpsRatio = median(mine.map((f) => f.attacked.rps / f.alone.rps));
      return [
        ...rowOf(`checkout beside ${forgery}, alone`, `checkout c=${CHECKOUT_CONNECTIONS}`, () => [
          check(
            `forged ${forgery} alone: payments CPU < 2 ms each`,
            cpu.length ? median(cpu) : null,
            (v) => v < 2,
            ' ms',
          ),
        ]),
        ...rowOf(
          `checkout beside ${forgery}`,
          `checkout c=${CHECKOUT_CONNECTIONS} + forged ${forgery}`,
          () => [
            check('p50 attacked/alone', p50Ratio, () => true, 'x'),
            check('throughput attacked/alone', rpsRatio, () => true, 'x'),
          ],
        ),
      ];
    });
  }

  // Per-round ratios: the phases of one round ran back to back, under the same conditions.
  const ratio = (a: string, b: string) => {
    const x = results.get(a);
    const y = results.get(b);
    if (!x || !y) return null;
    return median(x.map((r, i) => r.rps / y[i].rps));
  };
  const versusReference = ratio('ours', 'reference');
  const modeOf = (key: string) => tracingModes.find((mode) => mode.key === key);
  const ourTracing = tracingCost(modeOf('tracing on'), modeOf('tracing off'));
  const referenceTracing = tracingCost(
    modeOf('reference tracing on'),
    modeOf('reference tracing off'),
  );
  const sampledTracing = tracingCost(modeOf('tracing sampled'), modeOf('tracing off'));
  const tracingRatio = ourTracing?.ratio ?? null;
  /** Per round, `on` against the `off` phase beside it: throughput ratio, CPU per checkout. */
  function tracingCost(on?: TracingMode, off?: TracingMode): TracingCost | null {
    const x = on && results.get(on.key);
    const y = off && results.get(off.key);
    if (!on || !off || !x || !y) return null;
    const ratios = x.map((r, i) => r.rps / y[i].rps);
    const cpu = (process: 0 | 1) => {
      const ms = (phases: PhaseResult[], name: string) =>
        phases.map((p) => (1000 * (p.processes[name]?.cpuSeconds ?? NaN)) / p.requests);
      const offMs = ms(y, off.processes[process]);
      const onMs = ms(x, on.processes[process]);
      return {
        off: median(offMs),
        on: median(onMs),
        added: median(onMs.map((v, i) => v - offMs[i])),
      };
    };
    return {
      ratio: median(ratios),
      min: Math.min(...ratios),
      max: Math.max(...ratios),
      exportedKbPerCheckout:
        on.exportedBytes === undefined ? null : on.exportedBytes / 1024 / on.sent,
      ordersCpuMs: cpu(0),
      paymentsCpuMs: cpu(1),
    };
  }
  const fleetRatio = ratio('fleet', 'ours');
  const paidAfter = webhookResults.map((r) => r.paidAfterMs);
  const paidMedian = paidAfter.includes(null)
    ? Infinity
    : median(paidAfter.filter((v): v is number => v !== null));
  const rowOf = (key: string, scenario: string, checks: (s: Row['summary']) => Check[]) => {
    const rounds = results.get(key);
    if (!rounds) return [];
    const summary = summarise(rounds);
    return [{ scenario, summary, checks: checks(summary) }];
  };
  const rows: Row[] = [
    ...rowOf('ours', 'checkout c=32', (s) => [
      check('>= 0.6 x reference', versusReference, (v) => v >= 0.6, 'x'),
      check('p99 < 250 ms', s.p99, (v) => v < 250),
      check('errors = 0', s.errors, (v) => v === 0),
    ]),
    ...rowOf('reference', 'checkout c=32, reference', () => []),
    ...rowOf('fleet', 'checkout c=32, 2 + 2 instances', () => [
      check('2+2 / 1+1 throughput (coordination cost)', fleetRatio, () => true, 'x'),
    ]),
    ...rowOf('tracing off', 'checkout c=32, tracing off', () => []),
    ...rowOf('tracing on', 'checkout c=32, tracing on', () => [
      check(
        `on/off >= the reference's on/off (${referenceTracing?.ratio.toFixed(2) ?? 'n/a'})`,
        referenceTracing ? tracingRatio : null,
        (v) => v >= referenceTracing!.ratio,
        'x',
      ),
    ]),
    ...rowOf(
      'tracing sampled',
      `checkout c=32, tracing on, ${SAMPLING_RATIO * 100} % sampled`,
      () => [check('sampled/off', sampledTracing?.ratio ?? null, () => true, 'x')],
    ),
    ...rowOf('reference tracing off', 'checkout c=32, reference, tracing off', () => []),
    ...rowOf('reference tracing on', 'checkout c=32, reference, tracing on', () => [
      check('on/off', referenceTracing?.ratio ?? null, () => true, 'x'),
    ]),
    ...rowOf('checkout-c1', 'checkout c=1', (s) => [check('p50 < 15 ms', s.p50, (v) => v < 15)]),
    ...rowOf('replay', 'replay c=32', (s) => [check('>= 3000/s', s.rps, (v) => v >= 3000)]),
    ...rowOf('read', 'read c=32', (s) => [check('>= 3000/s', s.rps, (v) => v >= 3000)]),
    ...rowOf('webhook', 'webhook c=32 (events)', (s) => [
      check('>= 800 events/s', s.rps, (v) => v >= 800),
      check('all paid < 2000 ms after', paidMedian, (v) => v < 2000, ' ms'),
    ]),
    ...rowOf('circuit-open', 'circuit open c=1', (s) => [check('p50 < 5 ms', s.p50, (v) => v < 5)]),
    ...floodRows(floods),
  ];
  recordHighWater();
  const rssChecks = ['orders', 'payments'].map((name) =>
    check(`${name} peak RSS < 300 MB`, highWater[name] ?? null, (v) => v < 300, ' MB'),
  );

  const summary = [
    table(rows),
    ...floods.map(
      (f) =>
        `webhook flood: ${f.forgery}: ${f.forged.rps.toFixed(0)} forged/s answered alone, payments ` +
        `${f.cpuMsPerBody?.toFixed(2) ?? 'n/a'} ms CPU each; checkout c=${CHECKOUT_CONNECTIONS} p50 ` +
        `${f.alone.p50.toFixed(1)} -> ${f.attacked.p50.toFixed(1)} ms, p99 ${f.alone.p99.toFixed(1)} -> ` +
        `${f.attacked.p99.toFixed(1)} ms, ${f.alone.rps.toFixed(0)} -> ${f.attacked.rps.toFixed(0)} req/s`,
    ),
    '',
    `reference: ${
      versusReference !== null
        ? `ours/reference checkout c=32 throughput ${versusReference.toFixed(2)} (median of per-round ratios)`
        : has('reference')
          ? referenceStatus
          : 'not selected'
    }`,
    ...tracingLines(),
    ...(webhookResults.length
      ? [
          `webhook: orders all paid after the last event: ${paidAfter
            .map((v) => (v === null ? 'not all paid' : `${v.toFixed(0)} ms`))
            .join(', ')} (per round)`,
        ]
      : []),
    `peak RSS over the whole run (VmHWM): ${Object.entries(highWater)
      .map(([name, mb]) => `${name} ${mb.toFixed(0)} MB`)
      .join(', ')}`,
    `    targets: ${rssChecks.map(describeCheck).join('; ')}`,
  ].join('\n');
  process.stdout.write(`\n${summary}\n`);

  /** Our tracing cost beside the reference's, and what sampling saves. */
  function tracingLines(): string[] {
    if (!ourTracing) return ['tracing: not measured'];
    const cpu = (c: TracingCost['ordersCpuMs']) =>
      `${c.off.toFixed(2)} -> ${c.on.toFixed(2)} (${c.added >= 0 ? '+' : ''}${c.added.toFixed(2)})`;
    const line = (name: string, what: string, cost: TracingCost | null) =>
      cost
        ? `  ${name.padEnd(18)} ${what} ${cost.ratio.toFixed(2)} (rounds ${cost.min.toFixed(2)}-` +
          `${cost.max.toFixed(2)}); CPU ms per checkout, orders ${cpu(cost.ordersCpuMs)}, ` +
          `payments ${cpu(cost.paymentsCpuMs)}; OTLP ${cost.exportedKbPerCheckout?.toFixed(2) ?? 'n/a'} KB per checkout`
        : `  ${name.padEnd(18)} not measured (reference: ${referenceStatus})`;
    return [
      `tracing: checkout c=32 throughput, traced against untraced (every request traced unless ` +
        `sampled, OTLP to a local sink; ${settings.tracingRounds} rounds of ` +
        `${settings.tracingPhaseMs / 1000} s phases, medians of per-round figures):`,
      line('ours', 'on/off', ourTracing),
      line('reference', 'on/off', referenceTracing),
      line(`ours, ${SAMPLING_RATIO * 100} % sampled`, 'sampled/off', sampledTracing),
      `    target: ours on/off >= the reference's on/off: ${
        referenceTracing
          ? `${ourTracing.ratio.toFixed(2)} against ${referenceTracing.ratio.toFixed(2)} ${
              ourTracing.ratio >= referenceTracing.ratio ? 'pass' : 'MISS'
            }`
          : 'n/a'
      }`,
    ];
  }

  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryMb: Math.round(totalmem() / 2 ** 20),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
  await mkdir(dirname(settings.output), { recursive: true });
  await writeFile(
    settings.output,
    `${JSON.stringify(
      {
        startedAt,
        finishedAt: new Date(),
        machine,
        settings: { ...settings, scenarios: [...settings.scenarios] },
        reference: referenceStatus,
        ratios: {
          versusReference,
          tracingOnOff: tracingRatio,
          referenceTracingOnOff: referenceTracing?.ratio ?? null,
          sampledOnOff: sampledTracing?.ratio ?? null,
          fleetOverSingle: fleetRatio,
        },
        tracing: { ours: ourTracing, reference: referenceTracing, sampled: sampledTracing },
        rows,
        webhookPaidAfterMs: paidAfter,
        webhookFlood: floods.map(({ alone, attacked, ...figures }) => ({
          ...figures,
          checkoutAlone: { rps: alone.rps, p50: alone.p50, p99: alone.p99 },
          checkoutAttacked: { rps: attacked.rps, p50: attacked.p50, p99: attacked.p99 },
        })),
        peakRssMb: highWater,
        checks: [...rows.flatMap((row) => row.checks), ...rssChecks],
        rounds: Object.fromEntries(results),
      },
      null,
      2,
    )}\n`,
  );
  log(`results written to ${settings.output}`);
} finally {
  await cleanUp();
}
