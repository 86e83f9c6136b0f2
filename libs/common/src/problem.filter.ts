import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  Logger,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isDomainError } from './errors.js';
import { buildProblem, type Problem, PROBLEM_CONTENT_TYPE, type ProblemCode } from './problem.js';

const CODE_BY_STATUS: Record<number, ProblemCode> = {
  400: 'bad_request',
  401: 'unauthenticated',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'validation_failed',
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

/**
 * Turns every error that reaches the HTTP layer into an RFC 9457 problem+json body. Only the
 * messages of errors we raise on purpose reach the client; anything else is a generic 500 and is
 * logged with its stack.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger(ProblemFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const problem = this.toProblem(exception, request.url);
    if (problem.status === 401) void reply.header('www-authenticate', 'Bearer');
    void reply.status(problem.status).header('content-type', PROBLEM_CONTENT_TYPE).send(problem);
  }

  toProblem(exception: unknown, instance: string): Problem {
    if (isDomainError(exception)) {
      if (exception.code === 'internal') this.logger.error(exception.message, exception.stack);
      return buildProblem(exception.code, exception.message, instance, exception.fields);
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const code = CODE_BY_STATUS[status];
      if (code) return buildProblem(code, httpExceptionDetail(exception, code), instance);
    }
    if (isFrameworkError(exception)) {
      const code = CODE_BY_STATUS[exception.statusCode] ?? 'bad_request';
      return buildProblem(code, frameworkErrorDetail(exception, code), instance);
    }
    this.logger.error(
      exception instanceof Error ? exception.message : String(exception),
      exception instanceof Error ? exception.stack : undefined,
    );
    return buildProblem('internal', 'An unexpected error occurred.', instance);
  }
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
      return 'The request body must be application/json.';
    default:
      return error.code?.startsWith('FST_ERR_CTP') || error instanceof SyntaxError
        ? 'The request body is not valid JSON.'
        : 'The request is malformed.';
  }
}
