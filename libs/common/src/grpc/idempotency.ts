import type { Metadata } from '@grpc/grpc-js';
import { IDEMPOTENCY_KEY_METADATA } from '#contracts/grpc.js';
import { DomainError } from '../errors.js';
import { VISIBLE_ASCII_ID } from '../validation.js';

/**
 * The `idempotency-key` metadata entry of a mutating gRPC call: 1 to 255 visible ASCII
 * characters; missing or malformed is INVALID_ARGUMENT. Mutating calls must be safe to retry, so
 * they must say which attempt they repeat.
 */
export function requireIdempotencyKey(metadata: Metadata | undefined): string {
  const [key] = metadata?.get(IDEMPOTENCY_KEY_METADATA) ?? [];
  if (typeof key !== 'string' || !VISIBLE_ASCII_ID.test(key)) {
    throw DomainError.validation(
      [
        {
          field: IDEMPOTENCY_KEY_METADATA,
          message: 'metadata must hold 1 to 255 visible ASCII characters',
        },
      ],
      'Mutating calls require an idempotency-key metadata entry.',
    );
  }
  return key;
}
