import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  Logger,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { asServiceError } from '../db/database-errors.js';
import { isDomainError } from '../errors.js';
import { buildProblem, type Problem, PROBLEM_CONTENT_TYPE, type ProblemCode } from './problem.js';

const CODE_BY_STATUS: Record<number, ProblemCode> = {
  400: 'bad_request',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'validation_failed',
  429: 'rate_limited',
  501: 'unimplemented',
  503: 'unavailable',
};

/** Fastify's own errors (body parsing, limits) carry a status code and an FST_* code. */
interface FrameworkError {
  statusCode: number;
  code?: string;
  message: string;
}

function isFrameworkError(error: unknown): error is FrameworkError {
  return (
    error instanceof Error &&
    typeof (error as Partial<FrameworkError>).statusCode === 'number' &&
    ((error as Partial<FrameworkError>).statusCode ?? 0) < 500
  );
}

const logger = new Logger('Problem');

/** The code of the error for a JSON body declared in a charset other than UTF-8 (a 415). */
export const NOT_UTF8 = 'ERR_JSON_NOT_UTF8';

/** Retry-After of a 503 whose error names no delay (a peer unavailable, readiness). */
const DEFAULT_RETRY_AFTER_SECONDS = 1;

/**
 * The problem+json body for any error. Only the messages of errors we raise on purpose reach the
 * client; a transient database failure is a 503 (logged once per outage window, see
 * databaseOutages); anything else becomes a generic 500 and is logged with its stack.
 */
export function toProblem(error: unknown, instance: string): Problem {
  const exception = asServiceError(error);
  if (isDomainError(exception)) {
    if (exception.code === 'internal') logger.error(exception.message, exception.stack);
    return buildProblem(exception.code, exception.message, instance, exception.fields);
  }
  if (exception instanceof HttpException) {
    const code = CODE_BY_STATUS[exception.getStatus()];
    if (code) return buildProblem(code, httpExceptionDetail(exception, code), instance);
  }
  if (isFrameworkError(exception)) {
    const code = CODE_BY_STATUS[exception.statusCode] ?? 'bad_request';
    return buildProblem(code, frameworkErrorDetail(exception, code), instance);
  }
  logger.error(
    exception instanceof Error ? exception.message : String(exception),
    exception instanceof Error ? exception.stack : undefined,
  );
  return buildProblem('internal', 'An unexpected error occurred.', instance);
}

/**
 * HTTP headers that go with an error's problem body. Every 503 says when to retry: a client
 * should not have to guess whether an outage is worth waiting for.
 */
export function problemHeaders(exception: unknown, problem: Problem): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': PROBLEM_CONTENT_TYPE };
  if (problem.status === 401) headers['www-authenticate'] = 'Bearer';
  if (isDomainError(exception) && exception.retryAfterSeconds !== undefined) {
    headers['retry-after'] = String(exception.retryAfterSeconds);
  } else if (problem.status === 503) {
    headers['retry-after'] = String(DEFAULT_RETRY_AFTER_SECONDS);
  }
  return headers;
}

/** Turns every error that reaches the HTTP layer into an RFC 9457 problem+json response. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    sendProblem(http.getResponse<FastifyReply>(), exception, request.url);
  }
}

/** Answers with the problem+json rendering of an error. */
export function sendProblem(reply: FastifyReply, exception: unknown, instance: string): void {
  const problem = toProblem(exception, instance);
  void reply.status(problem.status).headers(problemHeaders(exception, problem)).send(problem);
}

function httpExceptionDetail(exception: HttpException, code: ProblemCode): string {
  if (code === 'not_found') return 'No such resource.';
  if (code === 'method_not_allowed') return 'The method is not allowed on this resource.';
  return exception.message;
}

function frameworkErrorDetail(error: FrameworkError, code: ProblemCode): string {
  switch (code) {
    case 'payload_too_large':
      return 'The request body is larger than this endpoint accepts.';
    case 'unsupported_media_type':
      return error.code === NOT_UTF8
        ? 'A JSON body must be UTF-8 (RFC 8259); another charset is not accepted.'
        : 'The request body must be application/json.';
    default:
      return error.code?.startsWith('FST_ERR_CTP') || error instanceof SyntaxError
        ? 'The request body is not valid JSON.'
        : 'The request is malformed.';
  }
}
