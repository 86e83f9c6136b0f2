import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { DomainError } from '#common/errors.js';
import { VISIBLE_ASCII_ID } from '#common/validation.js';

/** A key as the IETF draft allows it here: 1 to 255 visible ASCII characters. */
export const idempotencyKeySchema = z
  .string()
  .regex(VISIBLE_ASCII_ID)
  .meta({
    description:
      'Unique per logical request: generate one (a UUID v4 is a good choice) when the customer acts, and reuse it for every retry of that action. 1 to 255 visible ASCII characters. A repeat of a completed request answers the stored response with `Idempotent-Replayed: true`; the same key with a different request is a 422 `/problems/idempotency-key-reused`; a repeat while the first is still executing is a 409 `/problems/idempotency-key-in-use` with `Retry-After`. Keys are per customer and expire after 24 hours (docs/api.md, "Idempotency keys").',
    examples: ['5f0c1e8a-3d4b-4b8e-9a57-2f0c6d1e9b42'],
  });

export interface IdempotencyKeyOptions {
  required: boolean;
  /** The header carrying the key; `Idempotency-Key` unless a peer's convention differs. */
  header?: string;
}

/**
 * The request's `Idempotency-Key` header (IETF draft-ietf-httpapi-idempotency-key-header): 1 to
 * 255 visible ASCII characters. Missing where required, or malformed: a 400 problem.
 */
export const IdempotencyKey = createParamDecorator(
  (options: IdempotencyKeyOptions = { required: true }, context: ExecutionContext) => {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const header = options.header ?? 'Idempotency-Key';
    if (!options.required && request.headers[header.toLowerCase()] === undefined) return undefined;
    return idempotencyKeyOf(request, header);
  },
);

/** The key in `header`, checked as IdempotencyKey describes; a 400 problem without a valid one. */
export function idempotencyKeyOf(request: FastifyRequest, header = 'Idempotency-Key'): string {
  const value = request.headers[header.toLowerCase()];
  if (value === undefined) {
    throw new DomainError('bad_request', `This request requires an ${header} header.`, [
      { field: header, message: 'is required' },
    ]);
  }
  const key = idempotencyKeySchema.safeParse(value);
  if (!key.success) {
    throw new DomainError('bad_request', `The ${header} header is malformed.`, [
      { field: header, message: 'must be 1 to 255 visible ASCII characters' },
    ]);
  }
  return key.data;
}
