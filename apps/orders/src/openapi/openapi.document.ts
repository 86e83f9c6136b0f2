import { createDocument } from 'zod-openapi';
import { healthCheckSchema } from '#common/runtime/health.js';
import { problemSchema } from '#common/http/problem.js';
import { createOrderSchema, orderItemSchema } from '../orders/dto/create-order.dto.js';
import { orderPageSchema, orderViewSchema } from '../orders/order.view.js';
import { refundResultSchema } from '../refunds/refund.view.js';
import { idempotencyKeySchema } from '../idempotency/idempotency-key.decorator.js';
import {
  cancelOrder,
  createOrder,
  getOrder,
  health,
  listOrders,
  ORDER_ID,
  pushPaymentUpdate,
  refundOrder,
} from './operations.js';

/**
 * orders' REST API as an OpenAPI 3.1 document, rendered from the zod schemas that validate the
 * requests and type the responses: nothing here restates a shape. Served at /api/openapi.json and
 * committed as docs/openapi.json (`npm run openapi`; `npm run check` fails when they differ).
 */

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
