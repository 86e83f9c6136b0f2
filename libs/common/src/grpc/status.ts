import { type ArgumentsHost, Catch, Logger, type RpcExceptionFilter } from '@nestjs/common';
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { type Observable, throwError } from 'rxjs';
import { asServiceError, isTransientDatabaseError } from '../db/database-errors.js';
import { DomainError, type ErrorCode, isDomainError } from '../errors.js';

const STATUS_BY_CODE: Record<ErrorCode, GrpcStatus> = {
  bad_request: GrpcStatus.INVALID_ARGUMENT,
  validation_failed: GrpcStatus.INVALID_ARGUMENT,
  unauthenticated: GrpcStatus.UNAUTHENTICATED,
  forbidden: GrpcStatus.PERMISSION_DENIED,
  not_found: GrpcStatus.NOT_FOUND,
  conflict: GrpcStatus.ABORTED,
  idempotency_key_in_use: GrpcStatus.ABORTED,
  idempotency_key_reused: GrpcStatus.FAILED_PRECONDITION,
  precondition_failed: GrpcStatus.FAILED_PRECONDITION,
  unimplemented: GrpcStatus.UNIMPLEMENTED,
  unavailable: GrpcStatus.UNAVAILABLE,
  rate_limited: GrpcStatus.RESOURCE_EXHAUSTED,
  internal: GrpcStatus.INTERNAL,
};

/** The error a gRPC handler hands to grpc-js: a status code and its details text. */
export interface GrpcError {
  code: GrpcStatus;
  message: string;
  details: string;
}

export function toGrpcError(error: DomainError): GrpcError {
  const fieldText = error.fields.map((f) => `${f.field}: ${f.message}`).join('; ');
  const details = fieldText ? `${error.message} (${fieldText})` : error.message;
  return { code: STATUS_BY_CODE[error.code], message: details, details };
}

/**
 * Translates what a peer's gRPC call failed with into our error codes, so HTTP answers follow
 * (INVALID_ARGUMENT -> 422, NOT_FOUND -> 404, UNAVAILABLE / DEADLINE_EXCEEDED -> 503, ...).
 * Details of internal failures are not passed on: they may hold the peer's internals.
 */
export function fromGrpcError(error: unknown, peer: string): DomainError {
  const code = (error as Partial<ServiceError> | undefined)?.code;
  const details = (error as Partial<ServiceError> | undefined)?.details ?? '';
  switch (code) {
    case GrpcStatus.INVALID_ARGUMENT:
      return new DomainError('validation_failed', details || `${peer} rejected the request.`);
    case GrpcStatus.NOT_FOUND:
      return new DomainError('not_found', details || 'Not found.');
    case GrpcStatus.FAILED_PRECONDITION:
      return new DomainError('precondition_failed', details || `${peer} refused the request.`);
    case GrpcStatus.ALREADY_EXISTS:
    case GrpcStatus.ABORTED:
      return new DomainError('conflict', details || `${peer} reported a conflict; retry.`);
    case GrpcStatus.UNIMPLEMENTED:
      return new DomainError('unimplemented', `${peer} does not implement this operation yet.`);
    case GrpcStatus.UNAVAILABLE:
    case GrpcStatus.DEADLINE_EXCEEDED:
    case GrpcStatus.RESOURCE_EXHAUSTED:
    case GrpcStatus.CANCELLED:
      return new DomainError('unavailable', `The ${peer} service is unavailable; retry later.`);
    default:
      return new DomainError('internal', `The ${peer} service failed (gRPC status ${code}).`);
  }
}

const TRANSIENT = new Set<number>([
  GrpcStatus.UNAVAILABLE,
  GrpcStatus.DEADLINE_EXCEEDED,
  GrpcStatus.RESOURCE_EXHAUSTED,
]);

/** Failures that may pass: worth a retry, and counted by circuit breakers. */
export function isTransientGrpcError(error: unknown): boolean {
  return TRANSIENT.has((error as Partial<ServiceError> | undefined)?.code ?? -1);
}

/**
 * Server side: every exception a gRPC handler throws leaves as a proper status code. A transient
 * database failure is UNAVAILABLE (logged once per outage window, see databaseOutages); anything
 * that is not a DomainError is a defect: INTERNAL, logged with its stack.
 */
@Catch()
export class GrpcErrorFilter implements RpcExceptionFilter {
  private readonly logger = new Logger(GrpcErrorFilter.name);

  catch(error: unknown, _host: ArgumentsHost): Observable<never> {
    const exception = asServiceError(error);
    if (isDomainError(exception)) {
      if (exception.code === 'internal') this.logger.error(exception.message, exception.stack);
      return throwError(() => toGrpcError(exception));
    }
    this.logger.error(
      exception instanceof Error ? exception.message : String(exception),
      exception instanceof Error ? exception.stack : undefined,
    );
    const internal = new DomainError('internal', 'An unexpected error occurred.');
    return throwError(() => toGrpcError(internal));
  }
}

/** The status code a handler's exception leaves with (for metrics; see GrpcErrorFilter). */
export function grpcStatusOf(exception: unknown): GrpcStatus {
  if (isDomainError(exception)) return STATUS_BY_CODE[exception.code];
  return isTransientDatabaseError(exception) ? GrpcStatus.UNAVAILABLE : GrpcStatus.INTERNAL;
}
