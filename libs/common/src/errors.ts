/**
 * Business errors carry a stable code; each transport translates the code once (problem+json for
 * HTTP in http/problem.filter.ts, status codes for gRPC in grpc/status.ts). Services throw only these.
 */
export type ErrorCode =
  | 'bad_request'
  | 'validation_failed'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'idempotency_key_in_use'
  | 'idempotency_key_reused'
  | 'precondition_failed'
  | 'unimplemented'
  | 'unavailable'
  | 'rate_limited'
  | 'internal';

export interface FieldError {
  /** Path of the offending field, e.g. `items[0].quantity`. */
  field: string;
  message: string;
}

export interface DomainErrorOptions {
  /** For `unavailable` and `rate_limited`: when a retry has a chance, in seconds (HTTP `Retry-After`). */
  retryAfterSeconds?: number;
  cause?: unknown;
}

export class DomainError extends Error {
  readonly retryAfterSeconds?: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fields: FieldError[] = [],
    options: DomainErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'DomainError';
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  static validation(fields: FieldError[], message = 'The request is not valid.'): DomainError {
    return new DomainError('validation_failed', message, fields);
  }
}

export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainError;
}
