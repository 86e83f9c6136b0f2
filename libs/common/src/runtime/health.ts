import { ServiceUnavailableException } from '@nestjs/common';
import type { HealthCheckResult } from '@nestjs/terminus';
import { z } from 'zod';
import { DomainError } from '../errors.js';
import type { ServingState } from './shutdown.js';

const indicatorSchema = z.looseObject({
  status: z.enum(['up', 'degraded', 'down']).meta({ description: "The check's outcome." }),
});
const indicatorsSchema = z.record(z.string(), indicatorSchema);
/** terminus types `info` and `error` as partial records. */
const someIndicatorsSchema = z.record(z.string(), indicatorSchema.optional());

/**
 * The body of a successful `/health/live` or `/health/ready` (terminus' HealthCheckResult): each
 * check by name with its `status` and details. Not ready is a 503 problem instead.
 */
export const healthCheckSchema = z
  .object({
    status: z.enum(['ok', 'error', 'degraded', 'shutting_down']).meta({
      description: '`ok` on every successful answer.',
    }),
    info: someIndicatorsSchema.optional().meta({ description: 'The checks that passed.' }),
    error: someIndicatorsSchema.optional().meta({ description: 'The checks that failed.' }),
    details: indicatorsSchema.meta({ description: 'Every check, passed or failed.' }),
  })
  .meta({ title: 'HealthCheck' });

// What terminus answers fits the documented schema.
true satisfies HealthCheckResult extends z.infer<typeof healthCheckSchema> ? true : false;

/**
 * How long a readiness outcome, ready or not, answers every probe after its check settled.
 * Readiness is anonymous: without this, each request would cost a database round trip (and
 * orders a gRPC call to payments), as often as anyone cares to ask. Probes run every few seconds,
 * so a second's delay in noticing a change costs them nothing.
 */
export const READINESS_REUSE_MS = 1_000;

/**
 * `check` run at most once at a time and at most once per `reuseMs` after it settles: concurrent
 * callers share the run in flight, later ones get its outcome (a failure too) until `reuseMs`
 * has passed, then the next caller starts a new run.
 */
export function sharedCheck<T>(
  check: () => Promise<T>,
  reuseMs = READINESS_REUSE_MS,
): () => Promise<T> {
  let current: Promise<T> | undefined;
  let settledAt: number | undefined;
  return () => {
    if (current && (settledAt === undefined || Date.now() - settledAt < reuseMs)) return current;
    const run = (async () => check())();
    const settled = () => {
      if (current === run) settledAt = Date.now();
    };
    run.then(settled, settled);
    current = run;
    settledAt = undefined;
    return run;
  };
}

/**
 * Runs a terminus check; an unhealthy result becomes a 503 problem naming the failed checks, so
 * readiness answers in the same problem+json shape as every other error. An instance shutting
 * down is not ready, whatever its dependencies say: load balancers must stop sending it traffic.
 * Pass a `sharedCheck` so that probes cannot be turned into load on the dependencies.
 */
export async function readiness(
  serving: ServingState,
  check: () => Promise<HealthCheckResult>,
): Promise<HealthCheckResult> {
  if (serving.stoppingReason !== undefined) {
    throw new DomainError('unavailable', `Not ready: shutting down (${serving.stoppingReason}).`);
  }
  try {
    return withoutTimings(await check());
  } catch (error) {
    if (!(error instanceof ServiceUnavailableException)) throw error;
    const result = error.getResponse() as Partial<HealthCheckResult>;
    const failed = Object.keys(result.error ?? {});
    throw new DomainError('unavailable', `Not ready: ${failed.join(', ') || 'unknown'} unhealthy.`);
  }
}

/**
 * terminus (12) adds each check's `responseTime` to its details. Readiness is anonymous: its
 * details are states and counts, never timings, whichever checks a service runs.
 */
function withoutTimings(result: HealthCheckResult): HealthCheckResult {
  for (const indicators of [result.info, result.error, result.details]) {
    for (const indicator of Object.values(indicators ?? {})) delete indicator?.responseTime;
  }
  return result;
}
