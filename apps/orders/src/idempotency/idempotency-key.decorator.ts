import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '#common/errors.js';

const KEY = /^[\x21-\x7e]{1,255}$/;

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
    const header = options.header ?? 'Idempotency-Key';
    const value = context.switchToHttp().getRequest<FastifyRequest>().headers[header.toLowerCase()];
    if (value === undefined) {
      if (!options.required) return undefined;
      throw new DomainError('bad_request', `This request requires an ${header} header.`, [
        { field: header, message: 'is required' },
      ]);
    }
    if (typeof value !== 'string' || !KEY.test(value)) {
      throw new DomainError('bad_request', `The ${header} header is malformed.`, [
        { field: header, message: 'must be 1 to 255 visible ASCII characters' },
      ]);
    }
    return value;
  },
);
