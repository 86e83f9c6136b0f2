import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '#common/errors.js';

const KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * The request's `Idempotency-Key` header (IETF draft-ietf-httpapi-idempotency-key-header): 1 to
 * 255 visible ASCII characters. Missing where required, or malformed: a 400 problem.
 */
export const IdempotencyKey = createParamDecorator(
  (options: { required: boolean } = { required: true }, context: ExecutionContext) => {
    const value = context.switchToHttp().getRequest<FastifyRequest>().headers['idempotency-key'];
    if (value === undefined) {
      if (!options.required) return undefined;
      throw new DomainError('bad_request', 'This request requires an Idempotency-Key header.', [
        { field: 'Idempotency-Key', message: 'is required' },
      ]);
    }
    if (typeof value !== 'string' || !KEY.test(value)) {
      throw new DomainError('bad_request', 'The Idempotency-Key header is malformed.', [
        { field: 'Idempotency-Key', message: 'must be 1 to 255 visible ASCII characters' },
      ]);
    }
    return value;
  },
);
