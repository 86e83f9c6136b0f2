// One load phase: autocannon driven programmatically, bounded in time, with a live counter on
// stderr and latencies kept exactly (autocannon's own histogram rounds to whole milliseconds).
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { ProcessMonitor, type ProcessUsage, type Watched } from './process-metrics.js';

export interface Request {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export type Context = Record<string, unknown>;

export interface LoadOptions {
  /** Shown in the progress line. */
  label: string;
  origin: string;
  connections: number;
  durationMs: number;
  /** Ends the phase earlier, once this many requests were sent (a finite set of events). */
  amount?: number;
  /** The next request; `context` lives until its response (one request at a time per connection). */
  next(context: Context): Request;
  /** Whether a response is the expected one; anything else counts as an error. */
  accept(status: number, body: string, headers: Record<string, string>, context: Context): boolean;
  /** Processes to watch during the phase, by name. */
  pids: Record<string, Watched>;
}

export interface PhaseResult {
  /** Responses received. */
  requests: number;
  /** Responses per second, from the phase's start to its last response. */
  rps: number;
  p50: number;
  p99: number;
  /** Unexpected answers, connection errors and timeouts. */
  errors: number;
  processes: Record<string, ProcessUsage>;
}

const alwaysWatched: Record<string, Watched> = {};

/** Watches a process in every phase from now on: the load generator, the database. */
export function watchAlways(name: string, watched: Watched): void {
  alwaysWatched[name] = watched;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

function progress(label: string, line: string, final = false): void {
  if (process.stderr.isTTY)
    process.stderr.write(`\r\x1b[2K  ${label}: ${line}${final ? '\n' : ''}`);
  else if (final) process.stderr.write(` ${line}\n`);
  else process.stderr.write('.');
}

export async function runLoad(options: LoadOptions): Promise<PhaseResult> {
  const latencies: number[] = [];
  let wrong = 0;
  let lastResponseAt = 0;
  const monitor = new ProcessMonitor({ ...options.pids, ...alwaysWatched });
  monitor.start();
  const startedAt = performance.now();
  if (!process.stderr.isTTY) process.stderr.write(`  ${options.label} `);
  let finished!: (error: Error | null, result: autocannon.Result) => void;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    finished = (error, result) => (error ? reject(error) : resolve(result));
  });
  const instance = autocannon(
    {
      url: options.origin,
      connections: options.connections,
      // Without `amount` autocannon stops itself after `duration`; with it, the timer below does.
      duration: options.durationMs / 1000,
      ...(options.amount !== undefined && { amount: options.amount }),
      // Checks the stop flag every 100 ms rather than every second: phases end on time.
      sampleInt: 100,
      timeout: 10,
      requests: [
        {
          setupRequest: (request, context) => {
            const next = options.next(context as Context);
            return { ...request, ...next, headers: { ...request.headers, ...next.headers } };
          },
          onResponse: (status, body, context, headers) => {
            if (
              !options.accept(status, body, headers as Record<string, string>, context as Context)
            )
              wrong++;
          },
        },
      ],
    },
    (error: Error | null, result) => finished(error, result),
  );
  instance.on('response', (_client, _status, _bytes, responseTime) => {
    latencies.push(responseTime);
    lastResponseAt = performance.now();
  });
  const ticker = setInterval(() => progress(options.label, `${latencies.length} requests`), 1000);
  const deadline =
    options.amount === undefined
      ? undefined
      : setTimeout(() => instance.stop(), options.durationMs);
  try {
    const result = await done;
    const processes = monitor.stop();
    const seconds = ((lastResponseAt || performance.now()) - startedAt) / 1000;
    latencies.sort((a, b) => a - b);
    const phase: PhaseResult = {
      requests: latencies.length,
      rps: latencies.length / seconds,
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      // autocannon's `errors` counts connection errors and timeouts (timeouts are in both).
      errors: wrong + result.errors,
      processes,
    };
    progress(
      options.label,
      `${phase.requests} requests, ${phase.rps.toFixed(0)}/s, ` +
        `p50 ${phase.p50.toFixed(1)} ms, p99 ${phase.p99.toFixed(1)} ms, errors ${phase.errors}`,
      true,
    );
    return phase;
  } finally {
    monitor.stop();
    clearInterval(ticker);
    clearTimeout(deadline);
  }
}
