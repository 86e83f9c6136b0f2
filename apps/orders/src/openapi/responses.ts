import type { z } from 'zod';
import type { ZodOpenApiResponseObject, ZodOpenApiResponsesObject } from 'zod-openapi';
import {
  type ProblemCode,
  problemSchema,
  problemTypeUri,
  PROBLEM_TYPES,
} from '#common/http/problem.js';

/**
 * The building blocks of orders' OpenAPI operations: the headers every answer carries, each
 * problem an operation can answer with its meaning and example, and the request parts they share.
 */

const JSON_TYPE = 'application/json';
const PROBLEM_TYPE = 'application/problem+json';

export const ref = (kind: 'headers' | 'parameters', name: string) => ({
  $ref: `#/components/${kind}/${name}`,
});

/** What each operation's problems mean, per status: docs/api.md's "Errors" table, per route. */
interface ProblemCase {
  codes: readonly ProblemCode[];
  when: string;
}
type ProblemCases = Partial<Record<number, ProblemCase>>;

interface OperationTraits {
  /** Counted against the rate limits (every route but health). */
  rateLimited: boolean;
}

/** The headers every answer of an operation carries. */
function commonHeaders({ rateLimited }: OperationTraits): Record<string, { $ref: string }> {
  const headers: Record<string, { $ref: string }> = { 'X-Request-ID': ref('headers', 'RequestId') };
  if (rateLimited) {
    headers['RateLimit-Policy'] = ref('headers', 'RateLimitPolicy');
    headers.RateLimit = ref('headers', 'RateLimit');
    headers['X-RateLimit-Limit'] = ref('headers', 'XRateLimitLimit');
    headers['X-RateLimit-Remaining'] = ref('headers', 'XRateLimitRemaining');
    headers['X-RateLimit-Reset'] = ref('headers', 'XRateLimitReset');
  }
  return headers;
}

function problemResponse(
  status: number,
  { codes, when }: ProblemCase,
  traits: OperationTraits,
): ZodOpenApiResponseObject {
  const headers = commonHeaders(traits);
  if (status === 401) headers['WWW-Authenticate'] = ref('headers', 'WwwAuthenticate');
  if (status === 429 || status === 503 || codes.includes('idempotency_key_in_use')) {
    headers['Retry-After'] = ref('headers', 'RetryAfter');
  }
  const examples = Object.fromEntries(
    codes.map((code) => [
      code,
      {
        summary: PROBLEM_TYPES[code].title,
        value: {
          type: problemTypeUri(code),
          title: PROBLEM_TYPES[code].title,
          status,
          detail: EXAMPLE_DETAILS[code],
          instance: '/api/v1/orders',
          ...(code === 'validation_failed'
            ? { errors: [{ field: 'items[0].quantity', message: 'must be at least 1' }] }
            : {}),
        },
      },
    ]),
  );
  return {
    description: `${when} (${codes.map((code) => `\`${problemTypeUri(code)}\``).join(', ')}).`,
    headers,
    content: { [PROBLEM_TYPE]: { schema: problemSchema, examples } },
  };
}

const EXAMPLE_DETAILS: Record<ProblemCode, string> = {
  bad_request: 'The request body is not valid JSON.',
  validation_failed: 'The request is not valid.',
  unauthenticated: 'The bearer token is invalid or expired.',
  forbidden: 'The token does not grant a role this operation needs.',
  not_found: 'No such resource.',
  method_not_allowed: 'The method is not allowed on this resource.',
  conflict: 'The order is paid: refund it instead.',
  idempotency_key_in_use: 'A request with this Idempotency-Key is still being processed.',
  idempotency_key_reused: 'This Idempotency-Key was used with a different request.',
  request_timeout: 'The request did not arrive in time.',
  payload_too_large: 'The request body is larger than this endpoint accepts.',
  headers_too_large: 'The request headers are too large.',
  unsupported_media_type: 'The request body must be application/json.',
  precondition_failed: 'The payment provider refused the payment.',
  unimplemented: 'Not implemented.',
  unavailable: 'The payments service is unavailable; retry later.',
  rate_limited: 'Too many requests (default); retry in 12 s.',
  internal: 'An unexpected error occurred.',
};

export const BAD_HEADERS = 'a header sent more than once where it must be sent once';

/** The 400 of the operations that take an `Idempotency-Key`. */
export const KEYED_BAD_REQUEST = {
  codes: ['bad_request'],
  when: `Malformed JSON, a missing or malformed \`Idempotency-Key\`, ${BAD_HEADERS}`,
} as const;
const INTERNAL = { codes: ['internal'], when: 'An unexpected failure, logged' } as const;
export const RATE_LIMITED = {
  codes: ['rate_limited'],
  when: 'Over a rate limit; `Retry-After` says when to retry',
} as const;
export const UNAVAILABLE = {
  codes: ['unavailable'],
  when: 'A dependency (the database, payments, Stripe) is briefly unavailable; retry after `Retry-After` with the same key',
} as const;
export const UNAUTHENTICATED = {
  codes: ['unauthenticated'],
  when: 'The bearer token is missing, malformed, forged or expired',
} as const;
export const FORBIDDEN = {
  codes: ['forbidden'],
  when: 'A valid token without a role this operation accepts',
} as const;
export const NOT_FOUND = {
  codes: ['not_found'],
  when: "No such order: unknown, malformed, or another customer's (indistinguishable on purpose)",
} as const;
export const UNIMPLEMENTED = {
  codes: ['unimplemented'],
  when: 'payments does not implement the call (a version mismatch during a deploy)',
} as const;
export const TOO_LARGE = { codes: ['payload_too_large'], when: 'A body over 64 KB' } as const;
export const NOT_JSON = {
  codes: ['unsupported_media_type'],
  when: 'A body that is not `application/json`, or JSON in another charset than UTF-8',
} as const;

/** The responses of an operation: its successes, then each problem it can answer. */
export function responses(
  successes: Record<number, ZodOpenApiResponseObject>,
  problems: ProblemCases,
  traits: OperationTraits = { rateLimited: true },
): ZodOpenApiResponsesObject {
  const all: Record<string, ZodOpenApiResponseObject> = {};
  for (const [status, response] of Object.entries(successes)) {
    all[status] = {
      ...response,
      headers: { ...commonHeaders(traits), ...(response.headers as object) },
    };
  }
  const cases: ProblemCases = { ...problems, 500: INTERNAL };
  for (const status of Object.keys(cases)
    .map(Number)
    .sort((a, b) => a - b)) {
    all[String(status)] = problemResponse(status, cases[status]!, traits);
  }
  return all;
}

export function json(schema: z.ZodType, example?: unknown) {
  return { [JSON_TYPE]: example === undefined ? { schema } : { schema, example } };
}

export const keyedWrite = (header: 'IdempotencyKey' | 'XIdempotencyKey') => ({
  parameters: [ref('parameters', header), ref('parameters', 'RequestId')],
});
