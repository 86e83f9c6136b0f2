import type { z } from 'zod';
import {
  createDocument,
  type ZodOpenApiOperationObject,
  type ZodOpenApiResponseObject,
  type ZodOpenApiResponsesObject,
} from 'zod-openapi';
import { healthCheckSchema } from '#common/runtime/health.js';
import {
  type ProblemCode,
  problemSchema,
  problemTypeUri,
  PROBLEM_TYPES,
} from '#common/http/problem.js';
import { cancelOrderSchema } from '../orders/dto/cancel-order.dto.js';
import {
  createOrderSchema,
  listOrdersQuerySchema,
  orderItemSchema,
} from '../orders/dto/create-order.dto.js';
import { orderPageSchema, orderViewSchema } from '../orders/order.view.js';
import { createRefundSchema } from '../refunds/dto/create-refund.dto.js';
import { refundResultSchema } from '../refunds/refund.view.js';
import { paymentUpdateSchema } from '../orders/payment-updates/dto/payment-update.dto.js';
import { idempotencyKeySchema } from '../idempotency/idempotency-key.decorator.js';

/**
 * orders' REST API as an OpenAPI 3.1 document, rendered from the zod schemas that validate the
 * requests and type the responses: nothing here restates a shape. Served at /api/openapi.json and
 * committed as docs/openapi.json (`npm run openapi`; `npm run check` fails when they differ).
 */

const JSON_TYPE = 'application/json';
const PROBLEM_TYPE = 'application/problem+json';
const ORDER_ID = '0b9f7a3e-5c1d-4e8a-9f6b-2d3c4b5a6e7f';
const PAYMENT_ID = '5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

const ref = (kind: 'headers' | 'parameters', name: string) => ({
  $ref: `#/components/${kind}/${name}`,
});

const orderExample = {
  id: ORDER_ID,
  status: 'awaiting_payment',
  currency: 'usd',
  amount: 3000,
  amountRefunded: 0,
  items: [{ sku: 'SKU-1', name: 'T-shirt', quantity: 2, unitAmount: 1500 }],
  payment: {
    id: PAYMENT_ID,
    status: 'requires_payment_method',
    clientSecret: 'pi_3Q_secret_abc',
  },
  createdAt: '2026-11-22T02:34:21.127Z',
  updatedAt: '2026-11-22T02:34:21.187Z',
} satisfies z.input<typeof orderViewSchema>;

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

const BAD_HEADERS = 'a header sent more than once where it must be sent once';

/** The 400 of the operations that take an `Idempotency-Key`. */
const KEYED_BAD_REQUEST = {
  codes: ['bad_request'],
  when: `Malformed JSON, a missing or malformed \`Idempotency-Key\`, ${BAD_HEADERS}`,
} as const;
const INTERNAL = { codes: ['internal'], when: 'An unexpected failure, logged' } as const;
const RATE_LIMITED = {
  codes: ['rate_limited'],
  when: 'Over a rate limit; `Retry-After` says when to retry',
} as const;
const UNAVAILABLE = {
  codes: ['unavailable'],
  when: 'A dependency (the database, payments, Stripe) is briefly unavailable; retry after `Retry-After` with the same key',
} as const;
const UNAUTHENTICATED = {
  codes: ['unauthenticated'],
  when: 'The bearer token is missing, malformed, forged or expired',
} as const;
const FORBIDDEN = {
  codes: ['forbidden'],
  when: 'A valid token without a role this operation accepts',
} as const;
const NOT_FOUND = {
  codes: ['not_found'],
  when: "No such order: unknown, malformed, or another customer's (indistinguishable on purpose)",
} as const;
const UNIMPLEMENTED = {
  codes: ['unimplemented'],
  when: 'payments does not implement the call (a version mismatch during a deploy)',
} as const;
const TOO_LARGE = { codes: ['payload_too_large'], when: 'A body over 64 KB' } as const;
const NOT_JSON = {
  codes: ['unsupported_media_type'],
  when: 'A body that is not `application/json`, or JSON in another charset than UTF-8',
} as const;

/** The responses of an operation: its successes, then each problem it can answer. */
function responses(
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

function json(schema: z.ZodType, example?: unknown) {
  return { [JSON_TYPE]: example === undefined ? { schema } : { schema, example } };
}

const keyedWrite = (header: 'IdempotencyKey' | 'XIdempotencyKey') => ({
  parameters: [ref('parameters', header), ref('parameters', 'RequestId')],
});

const createOrder: ZodOpenApiOperationObject = {
  operationId: 'createOrder',
  summary: 'Place an order',
  description:
    'Creates the order and its payment (a Stripe PaymentIntent, through the payments service). The answer carries `payment.clientSecret` for Stripe.js to confirm the payment in the browser. Requires an `Idempotency-Key`; a retry with the same key answers the same order.',
  tags: ['Orders'],
  ...keyedWrite('IdempotencyKey'),
  requestBody: {
    required: true,
    content: json(createOrderSchema, {
      currency: 'usd',
      items: [{ sku: 'SKU-1', name: 'T-shirt', quantity: 2, unitAmount: 1500 }],
    }),
  },
  responses: responses(
    {
      201: {
        description: 'The order, created (or, for a repeated key, as first answered).',
        headers: {
          Location: ref('headers', 'Location'),
          'Idempotent-Replayed': ref('headers', 'IdempotentReplayed'),
        },
        content: json(orderViewSchema, orderExample),
      },
    },
    {
      400: KEYED_BAD_REQUEST,
      401: UNAUTHENTICATED,
      403: FORBIDDEN,
      404: { codes: ['not_found'], when: 'payments no longer knows the order (stored)' },
      409: {
        codes: ['idempotency_key_in_use', 'conflict'],
        when: 'The same key is still being processed (retry after `Retry-After`), or the order was canceled meanwhile',
      },
      413: TOO_LARGE,
      415: NOT_JSON,
      422: {
        codes: ['validation_failed', 'idempotency_key_reused', 'precondition_failed'],
        when: 'The body is invalid (each field in `errors`), the key was used with a different request, or payments or Stripe refused the payment',
      },
      429: RATE_LIMITED,
      501: UNIMPLEMENTED,
      503: UNAVAILABLE,
    },
  ),
};

const listOrders: ZodOpenApiOperationObject = {
  operationId: 'listOrders',
  summary: "List the customer's orders",
  description: 'Newest first, a page at a time: pass `nextCursor` back as `cursor`.',
  tags: ['Orders'],
  requestParams: { query: listOrdersQuerySchema },
  parameters: [ref('parameters', 'RequestId')],
  responses: responses(
    {
      200: {
        description: 'A page of orders.',
        content: json(orderPageSchema, { data: [orderExample], nextCursor: null }),
      },
    },
    {
      400: { codes: ['bad_request'], when: BAD_HEADERS },
      401: UNAUTHENTICATED,
      403: FORBIDDEN,
      422: { codes: ['validation_failed'], when: 'An invalid `limit` or `cursor`' },
      429: RATE_LIMITED,
      503: UNAVAILABLE,
    },
  ),
};

const getOrder: ZodOpenApiOperationObject = {
  operationId: 'getOrder',
  summary: 'Read an order',
  description: 'A customer reads their own orders; an admin any order.',
  tags: ['Orders'],
  parameters: [ref('parameters', 'OrderId'), ref('parameters', 'RequestId')],
  responses: responses(
    { 200: { description: 'The order.', content: json(orderViewSchema, orderExample) } },
    {
      400: { codes: ['bad_request'], when: BAD_HEADERS },
      401: UNAUTHENTICATED,
      403: FORBIDDEN,
      404: NOT_FOUND,
      429: RATE_LIMITED,
      503: UNAVAILABLE,
    },
  ),
};

const cancelOrder: ZodOpenApiOperationObject = {
  operationId: 'cancelOrder',
  summary: 'Cancel an order',
  description:
    "Allowed until the payment succeeded: the order's payment (and PaymentIntent) is canceled too. Canceling a canceled order changes nothing. Requires an `Idempotency-Key`; no body, or `{}`.",
  tags: ['Orders'],
  parameters: [
    ref('parameters', 'OrderId'),
    ref('parameters', 'IdempotencyKey'),
    ref('parameters', 'RequestId'),
  ],
  requestBody: { required: false, content: json(cancelOrderSchema, {}) },
  responses: responses(
    {
      200: {
        description: 'The order, canceled.',
        headers: { 'Idempotent-Replayed': ref('headers', 'IdempotentReplayed') },
        content: json(orderViewSchema, { ...orderExample, status: 'canceled' }),
      },
    },
    {
      400: KEYED_BAD_REQUEST,
      401: UNAUTHENTICATED,
      403: FORBIDDEN,
      404: NOT_FOUND,
      409: {
        codes: ['conflict', 'idempotency_key_in_use'],
        when: 'The order is paid, refunded or disputed (refund it instead), or the same key is still being processed',
      },
      413: TOO_LARGE,
      415: NOT_JSON,
      422: {
        codes: ['validation_failed', 'idempotency_key_reused', 'precondition_failed'],
        when: 'A body other than `{}`, the key was used with a different request, or payments refused',
      },
      429: RATE_LIMITED,
      501: UNIMPLEMENTED,
      503: UNAVAILABLE,
    },
  ),
};

const refundOrder: ZodOpenApiOperationObject = {
  operationId: 'refundOrder',
  summary: 'Refund an order',
  description:
    "All that is not yet refunded, or `amount`. Partial and repeated partial refunds are allowed while their total stays within the amount paid. The order's customer or an admin. Requires an `Idempotency-Key`.",
  tags: ['Refunds'],
  parameters: [
    ref('parameters', 'OrderId'),
    ref('parameters', 'IdempotencyKey'),
    ref('parameters', 'RequestId'),
  ],
  requestBody: {
    required: true,
    content: json(createRefundSchema, { amount: 500, reason: 'requested_by_customer' }),
  },
  responses: responses(
    {
      201: {
        description: 'The refund, and the order after it.',
        headers: { 'Idempotent-Replayed': ref('headers', 'IdempotentReplayed') },
        content: json(refundResultSchema, {
          refund: {
            id: '7e6d5c4b-3a29-4817-8f6e-5d4c3b2a1908',
            amount: 500,
            currency: 'usd',
            status: 'succeeded',
            reason: 'requested_by_customer',
            createdAt: '2026-11-22T03:00:00.000Z',
          },
          order: {
            ...orderExample,
            status: 'partially_refunded',
            amountRefunded: 500,
            payment: { ...orderExample.payment, status: 'succeeded' },
          },
        }),
      },
    },
    {
      400: KEYED_BAD_REQUEST,
      401: UNAUTHENTICATED,
      403: FORBIDDEN,
      404: NOT_FOUND,
      409: {
        codes: ['conflict', 'idempotency_key_in_use'],
        when: 'The order was never paid, is fully refunded or disputed, or the same key is still being processed',
      },
      413: TOO_LARGE,
      415: NOT_JSON,
      422: {
        codes: ['validation_failed', 'idempotency_key_reused', 'precondition_failed'],
        when: 'The body is invalid, the key was used with a different request, or more than what remains was asked',
      },
      429: RATE_LIMITED,
      501: UNIMPLEMENTED,
      503: UNAVAILABLE,
    },
  ),
};

const pushPaymentUpdate: ZodOpenApiOperationObject = {
  operationId: 'pushPaymentUpdate',
  summary: 'Push a payment update (internal)',
  description:
    'For systems that push payment updates over HTTP instead of gRPC: applies the same use case as `UpdateOrderPaymentStatus`. Service-to-service: `X-Api-Key`, not a customer token. A repeat of a key answers the stored response (4xx included: retry a 422 with a new key). Wrong keys count against a per-address budget; over it, 429.',
  tags: ['Internal'],
  security: [{ internalApiKey: [] }],
  ...keyedWrite('XIdempotencyKey'),
  requestBody: {
    required: true,
    content: json(paymentUpdateSchema, {
      orderId: ORDER_ID,
      paymentId: PAYMENT_ID,
      paymentStatus: 'succeeded',
      paymentVersion: 3,
    }),
  },
  responses: responses(
    {
      200: {
        description: 'The order after the update (unchanged for a stale update).',
        headers: { 'Idempotent-Replayed': ref('headers', 'IdempotentReplayed') },
        content: json(orderViewSchema, { ...orderExample, status: 'paid' }),
      },
    },
    {
      400: {
        codes: ['bad_request'],
        when: `Malformed JSON, a missing or malformed \`X-Idempotency-Key\`, ${BAD_HEADERS}`,
      },
      401: {
        codes: ['unauthenticated'],
        when: 'A missing or wrong `X-Api-Key` (every request, when `INTERNAL_API_KEY` is unset)',
      },
      404: { codes: ['not_found'], when: 'Unknown order' },
      409: { codes: ['idempotency_key_in_use'], when: 'The same key is still being processed' },
      413: TOO_LARGE,
      415: NOT_JSON,
      422: {
        codes: ['validation_failed', 'idempotency_key_reused', 'precondition_failed'],
        when: "The body is invalid, the key was used with a different request, or the payment is not the order's",
      },
      429: {
        codes: ['rate_limited'],
        when: 'Too many requests with a wrong `X-Api-Key` from this address',
      },
      503: UNAVAILABLE,
    },
  ),
};

const health = (operationId: string, summary: string, description: string, ready: boolean) =>
  ({
    operationId,
    summary,
    description,
    tags: ['Health'],
    security: [],
    responses: responses(
      { 200: { description: 'Healthy.', content: json(healthCheckSchema) } },
      ready
        ? {
            503: {
              codes: ['unavailable'],
              when: 'Not ready: a failed check (named in `detail`), or shutting down',
            },
          }
        : {},
      { rateLimited: false },
    ),
  }) satisfies ZodOpenApiOperationObject;

const DESCRIPTION = `The storefront's API of the orders service: place, read, cancel and refund orders.

**Authentication.** Every \`/api/v1/orders\` operation needs \`Authorization: Bearer <JWT>\` whose \`sub\` is the customer id, with an \`exp\` and a \`roles\` claim (\`customer\`, \`admin\`). A customer sees only their own orders; another customer's order answers 404 like a missing one.

**Idempotency.** Every mutating operation requires an \`Idempotency-Key\` (IETF draft-ietf-httpapi-idempotency-key-header, with Stripe's semantics): one key per logical request, reused for each retry of it. A repeat of a completed request answers the stored status, headers and body, plus \`Idempotent-Replayed: true\`. Requests refused before execution (400, 401, 413, 415, 422 validation) and 503s do not use the key up.

**Errors.** Every error is \`application/problem+json\` (RFC 9457); \`type\` names the error code and is stable. Besides the statuses listed per operation, any request can be refused at the connection level with 408 (\`/problems/request-timeout\`) or 431 (\`/problems/headers-too-large\`), whose body has no \`instance\`, and the connection is closed.

**Rate limits.** Every operation but health counts against per-customer (or per-address when anonymous) budgets, and checkouts against more; the answers carry \`RateLimit-Policy\`, \`RateLimit\` and \`X-RateLimit-*\`, and a refusal is 429 with \`Retry-After\`.

**Request ids.** Send \`X-Request-ID\` (1 to 128 of \`A-Za-z0-9._-\`) to name a request in the logs; every answer carries the request's id.`;

/** The OpenAPI document of orders' REST API. */
export function ordersOpenApiDocument(): ReturnType<typeof createDocument> {
  return createDocument(
    {
      openapi: '3.1.0',
      info: {
        title: 'orders REST API',
        version: '1.0.0',
        description: DESCRIPTION,
        license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
      },
      servers: [{ url: '/', description: 'This orders instance' }],
      security: [{ bearerAuth: [] }],
      tags: [
        { name: 'Orders', description: 'Checkout and the customer’s orders.' },
        { name: 'Refunds', description: 'Refunds of paid orders.' },
        { name: 'Internal', description: 'Service-to-service endpoints, not for storefronts.' },
        {
          name: 'Health',
          description: 'Probes for orchestrators; keep them off the public ingress.',
        },
      ],
      paths: {
        '/api/v1/orders': { post: createOrder, get: listOrders },
        '/api/v1/orders/{id}': { get: getOrder },
        '/api/v1/orders/{id}/cancel': { post: cancelOrder },
        '/api/v1/orders/{id}/refunds': { post: refundOrder },
        '/api/v1/webhooks/payment-updates': { post: pushPaymentUpdate },
        '/health/live': {
          get: health(
            'liveness',
            'Liveness',
            'The process is up; says nothing about its dependencies.',
            false,
          ),
        },
        '/health/ready': {
          get: health(
            'readiness',
            'Readiness',
            "Ready to take traffic: the database answers. payments' reachability and the circuit state are in `details.payments` without deciding readiness.",
            true,
          ),
        },
      },
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description:
              'A JWT from your identity provider: `sub` is the customer id; `exp` required; roles in the `roles` claim (`customer`, `admin`). In development, `npm run -s dev:token -- <customer-id>` prints one.',
          },
          internalApiKey: {
            type: 'apiKey',
            in: 'header',
            name: 'X-Api-Key',
            description: 'The `INTERNAL_API_KEY` of this deployment, sent once.',
          },
        },
        schemas: {
          Order: orderViewSchema,
          OrderPage: orderPageSchema,
          OrderLineInput: orderItemSchema,
          RefundResult: refundResultSchema,
          Problem: problemSchema,
          HealthCheck: healthCheckSchema,
        },
        parameters: {
          OrderId: {
            name: 'id',
            in: 'path',
            required: true,
            description: 'The order id.',
            schema: { type: 'string', examples: [ORDER_ID] },
          },
          IdempotencyKey: idempotencyKeySchema.meta({
            param: { name: 'Idempotency-Key', in: 'header', required: true },
          }),
          XIdempotencyKey: idempotencyKeySchema.meta({
            description:
              "The pushing system's key for this update: 1 to 255 visible ASCII characters. A repeat answers the stored response.",
            param: { name: 'X-Idempotency-Key', in: 'header', required: true },
          }),
          RequestId: {
            name: 'X-Request-ID',
            in: 'header',
            required: false,
            description:
              'Names the request in the logs and the answer; 1 to 128 of `A-Za-z0-9._-` (anything else is replaced by a new UUID).',
            schema: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,128}$' },
          },
        },
        headers: {
          RequestId: {
            description:
              "The request's id: the client's `X-Request-ID` when acceptable, else a new UUID.",
            required: true,
            schema: { type: 'string' },
          },
          Location: {
            description: 'The created order: `/api/v1/orders/<id>`.',
            required: true,
            schema: { type: 'string', examples: [`/api/v1/orders/${ORDER_ID}`] },
          },
          IdempotentReplayed: {
            description:
              '`true` when the answer is the stored answer to an earlier request with the same key.',
            schema: { type: 'string', enum: ['true'] },
          },
          RetryAfter: {
            description: 'Seconds to wait before retrying.',
            schema: { type: 'string', pattern: '^[0-9]+$' },
          },
          WwwAuthenticate: {
            description: 'The authentication scheme: `Bearer`.',
            schema: { type: 'string' },
          },
          RateLimitPolicy: {
            description:
              'Each rate-limit policy the request counted against: `"<name>";q=<limit>;w=<window seconds>` (draft-ietf-httpapi-ratelimit-headers).',
            schema: { type: 'string', examples: ['"default";q=120;w=60'] },
          },
          RateLimit: {
            description:
              'Where the request stands in each policy: `"<name>";r=<remaining>;t=<seconds to reset>`.',
            schema: { type: 'string', examples: ['"default";r=119;t=60'] },
          },
          XRateLimitLimit: {
            description: 'Requests per window of the tightest policy.',
            schema: { type: 'string', pattern: '^[0-9]+$' },
          },
          XRateLimitRemaining: {
            description: 'Requests left in the window of the tightest policy.',
            schema: { type: 'string', pattern: '^[0-9]+$' },
          },
          XRateLimitReset: {
            description: 'Seconds until the tightest policy resets.',
            schema: { type: 'string', pattern: '^[0-9]+$' },
          },
        },
      },
    },
    {
      // Responses have schemas of their own: no schema serves both a request and a response.
      outputIdSuffix: '',
      override: ({ jsonSchema, zodSchema }) => {
        // The lines of an order are counted before they are parsed (a loose array piped into the
        // lines' schema); the document shows the lines' schema.
        if (zodSchema === createOrderSchema.shape.items) {
          jsonSchema.items = { $ref: '#/components/schemas/OrderLineInput' };
        }
      },
    },
  );
}

/** The document as served and committed: stable key order, two-space indent, final newline. */
export function renderOpenApiDocument(): string {
  return `${JSON.stringify(ordersOpenApiDocument(), null, 2)}\n`;
}
