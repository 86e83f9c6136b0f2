import { z } from 'zod';
import type { ErrorCode, FieldError } from '../errors.js';

/** One invalid field of a refused request, as rendered in a problem (FieldError, errors.ts). */
export const fieldErrorSchema = z
  .object({
    field: z.string().meta({
      description: 'Where the problem is: a body path like `items[0].quantity`, or a header name.',
      examples: ['items[0].quantity'],
    }),
    message: z
      .string()
      .meta({ description: 'What is wrong with it.', examples: ['must be at least 1'] }),
  })
  .meta({ title: 'FieldError' });

/**
 * An RFC 9457 problem details object: the body of every error. The OpenAPI document renders this
 * schema; Problem is its type, so what buildProblem writes and what the document says are one.
 */
export const problemSchema = z
  .object({
    type: z.string().meta({
      description:
        'The problem type, a relative URI naming the error code (`/problems/<code>`); stable, meant for programs.',
      examples: ['/problems/validation-failed'],
    }),
    title: z.string().meta({ description: 'A short summary of the problem type.' }),
    status: z.number().int().min(400).max(599).meta({ description: 'The HTTP status code.' }),
    detail: z.string().meta({ description: 'What went wrong with this request, for people.' }),
    instance: z.string().meta({ description: 'The path of the request that failed.' }),
    errors: z
      .array(fieldErrorSchema)
      .optional()
      .meta({ description: 'Each invalid field (validation failures and bad headers only).' }),
  })
  .meta({ title: 'Problem' });

export type Problem = z.infer<typeof problemSchema>;

// The document's field errors are the errors' FieldError, both ways.
true satisfies FieldError extends z.infer<typeof fieldErrorSchema>
  ? z.infer<typeof fieldErrorSchema> extends FieldError
    ? true
    : false
  : false;

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

interface ProblemType {
  status: number;
  title: string;
}

/**
 * The problem types every HTTP API of this project answers with, keyed by the error code that
 * also names the type (`/problems/<code>`). docs/api.md documents each.
 */
export const PROBLEM_TYPES: Record<
  | ErrorCode
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'method_not_allowed'
  | 'request_timeout'
  | 'headers_too_large',
  ProblemType
> = {
  bad_request: { status: 400, title: 'Bad request' },
  validation_failed: { status: 422, title: 'Validation failed' },
  unauthenticated: { status: 401, title: 'Unauthenticated' },
  forbidden: { status: 403, title: 'Forbidden' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'Conflict' },
  idempotency_key_in_use: { status: 409, title: 'Idempotency key in use' },
  idempotency_key_reused: { status: 422, title: 'Idempotency key reused' },
  request_timeout: { status: 408, title: 'Request timeout' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  headers_too_large: { status: 431, title: 'Request header fields too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  precondition_failed: { status: 422, title: 'Precondition failed' },
  unimplemented: { status: 501, title: 'Not implemented' },
  unavailable: { status: 503, title: 'Service unavailable' },
  rate_limited: { status: 429, title: 'Too many requests' },
  internal: { status: 500, title: 'Internal server error' },
};

export type ProblemCode = keyof typeof PROBLEM_TYPES;

export function problemTypeUri(code: ProblemCode): string {
  return `/problems/${code.replaceAll('_', '-')}`;
}

export function buildProblem(
  code: ProblemCode,
  detail: string,
  instance: string,
  errors?: FieldError[],
): Problem {
  const { status, title } = PROBLEM_TYPES[code];
  const problem: Problem = { type: problemTypeUri(code), title, status, detail, instance };
  if (errors && errors.length > 0) problem.errors = errors;
  return problem;
}
