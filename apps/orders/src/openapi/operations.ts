import type { z } from 'zod';
import type { ZodOpenApiOperationObject } from 'zod-openapi';
import { healthCheckSchema } from '#common/runtime/health.js';
import { cancelOrderSchema } from '../orders/dto/cancel-order.dto.js';
import { createOrderSchema, listOrdersQuerySchema } from '../orders/dto/create-order.dto.js';
import { orderPageSchema, orderViewSchema } from '../orders/order.view.js';
import { paymentUpdateSchema } from '../orders/payment-updates/dto/payment-update.dto.js';
import { createRefundSchema } from '../refunds/dto/create-refund.dto.js';
import { refundResultSchema } from '../refunds/refund.view.js';
import {
  BAD_HEADERS,
  FORBIDDEN,
  json,
  KEYED_BAD_REQUEST,
  keyedWrite,
  NOT_FOUND,
  NOT_JSON,
  RATE_LIMITED,
  ref,
  responses,
  TOO_LARGE,
  UNAUTHENTICATED,
  UNAVAILABLE,
  UNIMPLEMENTED,
} from './responses.js';

/** Each operation of orders' REST API: what it does, what it takes, and every answer it gives. */

export const ORDER_ID = '0b9f7a3e-5c1d-4e8a-9f6b-2d3c4b5a6e7f';
export const PAYMENT_ID = '5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

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

export const createOrder: ZodOpenApiOperationObject = {
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

export const listOrders: ZodOpenApiOperationObject = {
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

export const getOrder: ZodOpenApiOperationObject = {
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

export const cancelOrder: ZodOpenApiOperationObject = {
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

export const refundOrder: ZodOpenApiOperationObject = {
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

export const pushPaymentUpdate: ZodOpenApiOperationObject = {
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

export const health = (operationId: string, summary: string, description: string, ready: boolean) =>
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
