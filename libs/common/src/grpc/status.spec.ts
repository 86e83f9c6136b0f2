import { describe, expect, it } from '@jest/globals';
import { status } from '@grpc/grpc-js';
import { DomainError, type ErrorCode } from '../errors.js';
import { fromGrpcError, toGrpcError } from './status.js';
import { PROBLEM_TYPES } from '../http/problem.js';

describe('gRPC status mapping', () => {
  it.each([
    [status.INVALID_ARGUMENT, 'validation_failed', 422],
    [status.NOT_FOUND, 'not_found', 404],
    [status.FAILED_PRECONDITION, 'precondition_failed', 422],
    [status.ABORTED, 'conflict', 409],
    [status.UNIMPLEMENTED, 'unimplemented', 501],
    [status.UNAVAILABLE, 'unavailable', 503],
    [status.DEADLINE_EXCEEDED, 'unavailable', 503],
    [status.INTERNAL, 'internal', 500],
    [status.UNKNOWN, 'internal', 500],
  ])('maps gRPC status %i to %s (HTTP %i)', (code, expected, httpStatus) => {
    const error = fromGrpcError({ code, details: 'peer said so' }, 'payments');
    expect(error.code).toBe(expected);
    expect(PROBLEM_TYPES[error.code].status).toBe(httpStatus);
  });

  it('does not pass a peer’s internal error text on', () => {
    const error = fromGrpcError(
      { code: status.INTERNAL, details: 'relation "x" does not exist' },
      'payments',
    );
    expect(error.message).not.toContain('relation');
  });

  it.each([
    ['validation_failed', status.INVALID_ARGUMENT],
    ['not_found', status.NOT_FOUND],
    ['forbidden', status.PERMISSION_DENIED],
    ['precondition_failed', status.FAILED_PRECONDITION],
    ['unimplemented', status.UNIMPLEMENTED],
    ['unavailable', status.UNAVAILABLE],
  ] as [ErrorCode, status][])('sends %s as gRPC status %i', (code, expected) => {
    expect(toGrpcError(new DomainError(code, 'x')).code).toBe(expected);
  });

  it('lists the invalid fields in the details', () => {
    const error = DomainError.validation([{ field: 'order_id', message: 'must be a UUID' }]);
    expect(toGrpcError(error).details).toContain('order_id: must be a UUID');
  });
});
