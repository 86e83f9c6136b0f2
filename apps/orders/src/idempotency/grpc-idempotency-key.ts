import type { Metadata } from '@grpc/grpc-js';
import { DomainError } from '#common/errors.js';
import { IDEMPOTENCY_KEY_METADATA } from '#contracts/grpc.js';

/**
 * The `idempotency-key` metadata entry of a mutating gRPC call: 1 to 255 visible ASCII
 * characters; missing or malformed is INVALID_ARGUMENT, as payments answers. Callers must be
 * able to say which attempt a retry repeats.
 */
export function requireIdempotencyKey(metadata: Metadata | undefined): string {
  const [key] = metadata?.get(IDEMPOTENCY_KEY_METADATA) ?? [];
  if (typeof key !== 'string' || !/^[\x21-\x7e]{1,255}$/.test(key)) {
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
