import { Inject, Injectable, Logger } from '@nestjs/common';
import { databaseOutages, isTransientDatabaseError } from '#common/db/database-errors.js';
import { DomainError, isDomainError } from '#common/errors.js';
import { problemHeaders, toProblem } from '#common/http/problem.filter.js';
import { annotate, hashKey, Untraced } from '#observability/spans.js';
import { ORDERS_CONFIG, type OrdersConfig } from '../config.js';
import { requestFingerprint } from './fingerprint.js';
import type { StoredResponse } from './idempotency-record.entity.js';
import { IdempotencyRepository, type KeyRef } from './idempotency.repository.js';
import { type CompletedKey, ReplayCache } from './replay-cache.js';
import { countIdempotentReplay } from '#observability/business-metrics.js';

export interface IdempotentRequest extends KeyRef {
  method: string;
  path: string;
  /** The request body as the client sent it (parsed JSON). */
  body: unknown;
}

/** What a keyed operation knows about its earlier attempts, and where it records progress. */
export interface Checkpoint {
  /** The order an earlier attempt with this key created, if any. */
  readonly orderId: string | null;
  /** The key whose recovery point (`order_id`) must be written with the order it creates. */
  readonly key: KeyRef;
}

export interface Outcome {
  response: StoredResponse;
  replayed: boolean;
}

/** How long at most to chase a key that keeps changing under us before giving up (409). */
const CLAIM_ATTEMPTS = 3;

/**
 * Idempotency keys on the REST API, after the IETF Idempotency-Key draft and Stripe:
 *
 * - the first request with a key executes and its final response is stored; repeats get that
 *   response back byte for byte (`Idempotent-Replayed: true`) and cause nothing else;
 * - a repeat while the first is still executing: 409, retry later;
 * - the same key with a different request (method, path or body): 422;
 * - a transient failure (503: payments or Stripe unavailable, circuit open, our database
 *   unreachable or restarting) stores nothing: the key is released and a retry resumes from the
 *   recovery point (the order already created). When the database is too far gone to release
 *   it, or to store the final answer, the key stays locked until IDEMPOTENCY_LOCK_TIMEOUT_MS has
 *   passed; a retry meanwhile gets 409 with a Retry-After, and the first retry after it takes the
 *   key over and resumes the same way;
 * - any other outcome once execution started (2xx, 4xx business refusals, 500) is stored. Requests
 *   refused before execution (authentication, malformed or invalid input) never touch the key.
 */
@Injectable()
export class IdempotencyService {
  private readonly logger = new Logger(IdempotencyService.name);

  constructor(
    private readonly keys: IdempotencyRepository,
    private readonly completed: ReplayCache,
    @Inject(ORDERS_CONFIG) private readonly config: OrdersConfig,
  ) {}

  async execute(
    request: IdempotentRequest,
    work: (checkpoint: Checkpoint) => Promise<StoredResponse>,
  ): Promise<Outcome> {
    const ref: KeyRef = { customerId: request.customerId, key: request.key };
    annotate({ 'idempotency.key_hash': hashKey(request.key) });
    const fingerprint = requestFingerprint(request.method, request.path, request.body);
    const recent = this.completed.get(ref);
    if (recent) return this.replay(fingerprint, recent);
    const claim = await this.claim(ref, fingerprint);
    if ('replay' in claim) {
      const completed = { fingerprint, response: claim.replay };
      this.completed.remember(ref, completed, claim.expiresAt);
      return this.replay(fingerprint, completed);
    }

    const checkpoint: Checkpoint = { orderId: claim.orderId, key: ref };
    let response: StoredResponse;
    try {
      response = await work(checkpoint);
    } catch (error) {
      if (isTransient(error)) {
        await this.release(ref);
        throw error;
      }
      response = errorResponse(error, request.path);
    }
    try {
      await this.keys.complete(ref, response);
    } catch (error) {
      // The work is done but its answer is not stored: the retry resumes from the recovery point.
      if (isTransientDatabaseError(error)) await this.release(ref);
      throw error;
    }
    this.completed.remember(ref, { fingerprint, response }, claim.expiresAt);
    return { response, replayed: false };
  }

  /** Best effort: a key that cannot be released now is taken over once its lock expires. */
  private async release(ref: KeyRef): Promise<void> {
    try {
      await this.keys.release(ref);
    } catch (error) {
      if (!isTransientDatabaseError(error)) throw error;
      databaseOutages.record(error);
    }
  }

  private replay(fingerprint: string, completed: CompletedKey): Outcome {
    if (completed.fingerprint !== fingerprint) throw keyReused();
    annotate({ 'idempotency.replayed': true });
    countIdempotentReplay();
    return { response: completed.response, replayed: true };
  }

  @Untraced()
  private async claim(
    ref: KeyRef,
    fingerprint: string,
  ): Promise<
    { orderId: string | null; expiresAt: Date } | { replay: StoredResponse; expiresAt: Date }
  > {
    const { lockTimeoutMs, retentionHours } = this.config.idempotency;
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      const existing = await this.keys.insertOrFind(
        ref,
        fingerprint,
        lockTimeoutMs,
        retentionHours,
      );
      if (!existing) continue; // released, cleaned up or committed meanwhile: claim again
      if (existing.inserted) return { orderId: null, expiresAt: existing.record.expiresAt };
      if (existing.expired) {
        await this.keys.deleteIfExpired(ref);
        continue;
      }
      const { record } = existing;
      if (record.fingerprint !== fingerprint) throw keyReused();
      if (record.state === 'completed') {
        return {
          replay: {
            status: record.responseStatus!,
            headers: record.responseHeaders ?? {},
            body: record.responseBody!,
          },
          expiresAt: record.expiresAt,
        };
      }
      const taken = await this.keys.takeOver(ref, lockTimeoutMs);
      if (taken) {
        if (taken.orderId) this.logger.log(`Resuming order ${taken.orderId} for a retried key`);
        return { orderId: taken.orderId, expiresAt: taken.expiresAt };
      }
      break;
    }
    throw new DomainError(
      'idempotency_key_in_use',
      'A request with this Idempotency-Key is still being processed; retry shortly.',
      [],
      { retryAfterSeconds: 1 },
    );
  }
}

/** Worth a retry with the same key, so never a key's final answer. */
function isTransient(error: unknown): boolean {
  return (isDomainError(error) && error.code === 'unavailable') || isTransientDatabaseError(error);
}

function keyReused(): DomainError {
  return new DomainError(
    'idempotency_key_reused',
    'This Idempotency-Key was used with a different request; use a new key for a new request.',
  );
}

function errorResponse(error: unknown, instance: string): StoredResponse {
  const problem = toProblem(error, instance);
  return {
    status: problem.status,
    headers: problemHeaders(error, problem),
    body: JSON.stringify(problem),
  };
}
