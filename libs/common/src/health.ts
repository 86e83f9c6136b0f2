import { ServiceUnavailableException } from '@nestjs/common';
import type { HealthCheckResult } from '@nestjs/terminus';
import { DomainError } from './errors.js';
import type { ServingState } from './shutdown.js';

/**
 * Runs a terminus check; an unhealthy result becomes a 503 problem naming the failed checks, so
 * readiness answers in the same problem+json shape as every other error. An instance shutting
 * down is not ready, whatever its dependencies say: load balancers must stop sending it traffic.
 */
export async function readiness(
  serving: ServingState,
  check: () => Promise<HealthCheckResult>,
): Promise<HealthCheckResult> {
  if (serving.stoppingReason !== undefined) {
    throw new DomainError('unavailable', `Not ready: shutting down (${serving.stoppingReason}).`);
  }
  try {
    return await check();
  } catch (error) {
    if (!(error instanceof ServiceUnavailableException)) throw error;
    const result = error.getResponse() as Partial<HealthCheckResult>;
    const failed = Object.keys(result.error ?? {});
    throw new DomainError('unavailable', `Not ready: ${failed.join(', ') || 'unknown'} unhealthy.`);
  }
}
