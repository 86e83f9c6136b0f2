import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { isTransientGrpcError } from '#common/grpc/status.js';

/**
 * Statuses retried without limit besides the transient ones: ABORTED is orders' conflict (its
 * idempotency key busy with a concurrent delivery), CANCELLED a call cut on our side. A failure
 * with no status at all never reached orders.
 */
const RETRIED_WITHOUT_LIMIT = new Set<number>([GrpcStatus.ABORTED, GrpcStatus.CANCELLED]);

export interface RetryPolicy {
  /** Permanent refusals a notification gets before it is parked (OUTBOX_MAX_ATTEMPTS). */
  maxAttempts: number;
  /** Cap of the exponential backoff (OUTBOX_MAX_BACKOFF_MS). */
  maxBackoffMs: number;
}

/** What to do after a failed delivery. */
export interface FailedDelivery {
  /** The status code (and its name) and message, kept with the row. */
  error: string;
  /** Until the next attempt (unused once parked). */
  retryInMs: number;
  /** orders refused it with a status no retry changes (NOT_FOUND, INVALID_ARGUMENT, ...). */
  refused: boolean;
  /** This refusal was the last one allowed: stop retrying until an operator replays it. */
  park: boolean;
}

/**
 * Decides the fate of a failed delivery, given what the notification went through before. A
 * permanent refusal may be a blip of a deploy (an orders that does not know the order yet): it is
 * retried like any failure until `maxAttempts` refusals, then parked. Transient failures (orders
 * down, overloaded, slow) are retried forever, with the same capped backoff, and do not count
 * towards parking.
 */
export function afterFailure(
  failure: unknown,
  previous: { attempts: number; refusals: number },
  policy: RetryPolicy,
): FailedDelivery {
  const { code, details } = (failure ?? {}) as Partial<ServiceError>;
  const refused =
    typeof code === 'number' && !isTransientGrpcError(failure) && !RETRIED_WITHOUT_LIMIT.has(code);
  const error =
    typeof code === 'number'
      ? `gRPC ${code} ${GrpcStatus[code] ?? 'UNKNOWN_STATUS'}: ${details ?? ''}`
      : `${(failure as Error | undefined)?.message ?? String(failure)}`;
  return {
    error,
    retryInMs: Math.min(1000 * 2 ** previous.attempts, policy.maxBackoffMs),
    refused,
    park: refused && previous.refusals + 1 >= policy.maxAttempts,
  };
}
