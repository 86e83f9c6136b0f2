/**
 * Business errors carry a stable code; each transport translates the code once (problem+json for
 * HTTP in problem.filter.ts, status codes for gRPC in grpc-status.ts). Services throw only these.
 */
export type ErrorCode =
  | 'bad_request'
  | 'validation_failed'
  | 'unauthenticated'
  | 'not_found'
  | 'conflict'
  | 'precondition_failed'
  | 'unimplemented'
  | 'unavailable'
  | 'internal';

export interface FieldError {
  /** Path of the offending field, e.g. `items[0].quantity`. */
  field: string;
  message: string;
}

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fields: FieldError[] = [],
  ) {
    super(message);
    this.name = 'DomainError';
  }

  static validation(fields: FieldError[], message = 'The request is not valid.'): DomainError {
    return new DomainError('validation_failed', message, fields);
  }
}

export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainError;
}
