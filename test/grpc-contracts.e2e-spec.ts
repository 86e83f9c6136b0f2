import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { status } from '@grpc/grpc-js';
import pg from 'pg';
import type {
  CreatePaymentResponse,
  GetPaymentResponse,
} from '#contracts/generated/payments/v1/payments.js';
import type { GetOrderResponse } from '#contracts/generated/orders/v1/orders.js';
import {
  DEV_TOKEN_FOR,
  grpcClient,
  grpcError,
  grpcHealth,
  type RawGrpcClient,
  serviceMethods,
} from './support/grpc.js';
import { Stack, tokenFor } from './support/stack.js';

describe('gRPC contracts (end to end)', () => {
  let stack: Stack;
  let payments: RawGrpcClient;
  let orders: RawGrpcClient;

  beforeAll(async () => {
    stack = await Stack.start();
    payments = grpcClient('payments', stack.paymentsGrpcUrl);
    orders = grpcClient('orders', stack.ordersGrpcUrl);
  });

  afterAll(async () => {
    payments.close();
    orders.close();
    await stack.stop();
  });

  const createRequest = (overrides: Record<string, unknown> = {}) => ({
    orderId: randomUUID(),
    customerId: 'cus_grpc',
    amount: { amount: '2500', currency: 'eur' },
    ...overrides,
  });

  const createPayment = (request: unknown, key: string | null = randomUUID()) =>
    payments.call<CreatePaymentResponse>(
      'CreatePayment',
      request,
      key === null ? {} : { 'idempotency-key': key },
    );

  describe('payments.v1.PaymentService', () => {
    it('creates a payment backed by a Stripe PaymentIntent', async () => {
      const request = createRequest();
      const { payment } = await createPayment(request);
      expect(payment).toMatchObject({
        orderId: request.orderId,
        customerId: 'cus_grpc',
        status: 'PAYMENT_STATUS_REQUIRES_PAYMENT_METHOD',
        amount: { amount: '2500', currency: 'eur' },
        providerPaymentId: expect.stringMatching(/^pi_/),
        clientSecret: expect.stringMatching(/^pi_.+_secret_/),
        createTime: { seconds: expect.any(String) },
      });
      const intent = stack.stripe
        .paymentIntents()
        .find((pi) => pi.id === payment?.providerPaymentId);
      expect(intent).toMatchObject({
        amount: 2500,
        currency: 'eur',
        metadata: { order_id: request.orderId, payment_id: payment?.id },
      });
    });

    it('returns the existing payment when the order asks again, with one PaymentIntent', async () => {
      const request = createRequest();
      const first = await createPayment(request);
      const second = await createPayment(request);
      expect(second.payment).toEqual(first.payment);
      const intents = stack.stripe
        .paymentIntents()
        .filter((pi) => pi.metadata.order_id === request.orderId);
      expect(intents).toHaveLength(1);
    });

    it('refuses a second payment of another amount for the same order', async () => {
      const request = createRequest();
      await createPayment(request);
      const error = await grpcError(
        createPayment({ ...request, amount: { amount: '9900', currency: 'eur' } }),
      );
      expect(error.code).toBe(status.FAILED_PRECONDITION);
    });

    it('recovers from a Stripe outage: the retry completes the same payment', async () => {
      const request = createRequest();
      stack.stripe.failNext(1, 500);
      const error = await grpcError(createPayment(request));
      expect(error.code).toBe(status.UNAVAILABLE);
      const { payment } = await createPayment(request);
      expect(payment?.status).toBe('PAYMENT_STATUS_REQUIRES_PAYMENT_METHOD');
      const intents = stack.stripe
        .paymentIntents()
        .filter((pi) => pi.metadata.order_id === request.orderId);
      expect(intents).toHaveLength(1);
    });

    it('resumes after a crash between Stripe and the commit: same payment, one PaymentIntent', async () => {
      const request = createRequest();
      const key = randomUUID();
      stack.paymentFaults.arm('after-stripe-create-intent');
      expect((await grpcError(createPayment(request, key))).code).toBe(status.UNAVAILABLE);
      const { payment } = await createPayment(request, key);
      expect(payment?.providerPaymentId).toMatch(/^pi_/);
      const intents = stack.stripe
        .paymentIntents()
        .filter((pi) => pi.metadata.order_id === request.orderId);
      expect(intents.map((pi) => pi.id)).toEqual([payment?.providerPaymentId]);
    });

    it('refuses an idempotency key already used for another order', async () => {
      const key = randomUUID();
      await createPayment(createRequest(), key);
      const error = await grpcError(createPayment(createRequest(), key));
      expect(error.code).toBe(status.FAILED_PRECONDITION);
    });

    it.each([
      ['a malformed order id', { orderId: 'order-1' }, 'order_id'],
      ['an empty customer id', { customerId: '' }, 'customer_id'],
      ['no amount', { amount: null }, 'amount'],
      ['a zero amount', { amount: { amount: '0', currency: 'eur' } }, 'amount.amount'],
      ['a negative amount', { amount: { amount: '-5', currency: 'eur' } }, 'amount.amount'],
      [
        'an amount above Stripe maximum',
        { amount: { amount: '100000000', currency: 'eur' } },
        'amount.amount',
      ],
      ['an unknown currency', { amount: { amount: '2500', currency: 'xxx' } }, 'amount.currency'],
      ['an uppercase currency', { amount: { amount: '2500', currency: 'EUR' } }, 'amount.currency'],
    ])('answers INVALID_ARGUMENT for %s and creates nothing', async (_name, overrides, field) => {
      const before = stack.stripe.paymentIntents().length;
      const error = await grpcError(createPayment(createRequest(overrides)));
      expect(error.code).toBe(status.INVALID_ARGUMENT);
      expect(error.details).toContain(field);
      expect(stack.stripe.paymentIntents()).toHaveLength(before);
    });

    it('answers INVALID_ARGUMENT for a CreatePayment without an idempotency key', async () => {
      const error = await grpcError(createPayment(createRequest(), null));
      expect(error.code).toBe(status.INVALID_ARGUMENT);
      expect(error.details).toContain('idempotency-key');
    });

    it('reads a payment by id', async () => {
      const { payment } = await createPayment(createRequest());
      const read = await payments.call<GetPaymentResponse>('GetPayment', {
        paymentId: payment?.id,
      });
      expect(read.payment).toEqual(payment);
    });

    it('answers NOT_FOUND for an unknown payment', async () => {
      const error = await grpcError(payments.call('GetPayment', { paymentId: randomUUID() }));
      expect(error.code).toBe(status.NOT_FOUND);
    });

    it('answers INVALID_ARGUMENT for a malformed payment id', async () => {
      const error = await grpcError(payments.call('GetPayment', { paymentId: 'nope' }));
      expect(error.code).toBe(status.INVALID_ARGUMENT);
    });

    it('answers NOT_FOUND for a refund of an unknown payment', async () => {
      const error = await grpcError(
        payments.call(
          'ProcessRefund',
          { paymentId: randomUUID(), amount: { amount: '100', currency: 'eur' } },
          { 'idempotency-key': randomUUID() },
        ),
      );
      expect(error.code).toBe(status.NOT_FOUND);
    });

    it('serves the standard gRPC health service', async () => {
      expect(await grpcHealth(stack.paymentsGrpcUrl, 'payments.v1.PaymentService')).toBe('SERVING');
      expect(await grpcHealth(stack.paymentsGrpcUrl, '')).toBe('SERVING');
    });
  });

  describe('orders.v1.OrderService', () => {
    it('reads an order created over REST', async () => {
      const token = await tokenFor('cus_grpc_orders');
      const created = await fetch(`${stack.ordersUrl}/api/v1/orders`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'idempotency-key': randomUUID(),
        },
        body: JSON.stringify({
          currency: 'jpy',
          items: [{ sku: 'TEA', name: 'Tea', quantity: 3, unitAmount: 700 }],
        }),
      });
      const { id, payment } = (await created.json()) as { id: string; payment: { id: string } };
      const { order } = await orders.call<GetOrderResponse>('GetOrder', { orderId: id });
      expect(order).toMatchObject({
        id,
        customerId: 'cus_grpc_orders',
        status: 'ORDER_STATUS_AWAITING_PAYMENT',
        total: { amount: '2100', currency: 'jpy' },
        items: [{ sku: 'TEA', name: 'Tea', quantity: 3, unitAmount: '700' }],
        paymentId: payment.id,
      });
    });

    it('answers NOT_FOUND for an unknown order and INVALID_ARGUMENT for a malformed id', async () => {
      expect((await grpcError(orders.call('GetOrder', { orderId: randomUUID() }))).code).toBe(
        status.NOT_FOUND,
      );
      expect((await grpcError(orders.call('GetOrder', { orderId: 'x' }))).code).toBe(
        status.INVALID_ARGUMENT,
      );
    });

    it('answers NOT_FOUND for a payment status update of an unknown order', async () => {
      const error = await grpcError(
        orders.call(
          'UpdateOrderPaymentStatus',
          {
            orderId: randomUUID(),
            paymentId: randomUUID(),
            paymentStatus: 'PAYMENT_STATUS_SUCCEEDED',
            paymentVersion: '2',
          },
          { 'idempotency-key': randomUUID() },
        ),
      );
      expect(error.code).toBe(status.NOT_FOUND);
    });

    it('answers UNAVAILABLE (retry) for an order whose payment is not attached yet, FAILED_PRECONDITION for another payment', async () => {
      const customer = `cus_${randomUUID()}`;
      const token = await tokenFor(customer);
      const key = randomUUID();
      const checkout = () =>
        fetch(`${stack.ordersUrl}/api/v1/orders`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'idempotency-key': key,
          },
          body: JSON.stringify({
            currency: 'eur',
            items: [{ sku: 'MUG', name: 'Mug', quantity: 1, unitAmount: 900 }],
          }),
        });
      // Cut off after payments made the PaymentIntent, on every attempt orders' client makes: the
      // order exists, its payment is not attached.
      stack.paymentFaults.arm('after-stripe-create-intent', 100);
      expect((await checkout()).status).toBe(503);
      stack.paymentFaults.arm('after-stripe-create-intent', 0);
      const db = new pg.Client({ connectionString: stack.ordersDb.url });
      await db.connect();
      const { rows } = await db
        .query<{ id: string }>('SELECT id FROM orders WHERE customer_id = $1', [customer])
        .finally(() => db.end());
      const update = (paymentId: string) =>
        orders.call(
          'UpdateOrderPaymentStatus',
          {
            orderId: rows[0].id,
            paymentId,
            paymentStatus: 'PAYMENT_STATUS_SUCCEEDED',
            paymentVersion: '2',
          },
          { 'idempotency-key': randomUUID() },
        );
      expect((await grpcError(update(randomUUID()))).code).toBe(status.UNAVAILABLE);

      const attached = (await (await checkout()).json()) as { payment: { id: string } };
      expect((await grpcError(update(randomUUID()))).code).toBe(status.FAILED_PRECONDITION);
      expect(attached.payment.id).toEqual(expect.any(String));
    });
  });

  describe('service credentials', () => {
    const services = ['payments', 'orders'] as const;
    const urlOf = (service: (typeof services)[number]) =>
      service === 'payments' ? stack.paymentsGrpcUrl : stack.ordersGrpcUrl;
    const WRONG_TOKEN = 'a-well-formed-token-that-nobody-ever-issued-0123456789';
    // The table comes from the protos: a method added later is covered without touching this test.
    const unauthenticated = services.flatMap((service) =>
      serviceMethods(service).flatMap((method) => [
        [service, method, 'no token', null] as const,
        [service, method, 'a wrong token', WRONG_TOKEN] as const,
        [service, method, "the other service's token", DEV_TOKEN_FOR[other(service)]] as const,
      ]),
    );

    function other(service: (typeof services)[number]) {
      return service === 'payments' ? 'orders' : 'payments';
    }

    it('covers every method of both services', () => {
      expect(serviceMethods('payments')).toEqual(
        expect.arrayContaining(['CreatePayment', 'GetPayment', 'CancelPayment', 'ProcessRefund']),
      );
      expect(serviceMethods('orders')).toEqual(
        expect.arrayContaining(['GetOrder', 'UpdateOrderPaymentStatus']),
      );
    });

    it.each(unauthenticated)(
      '%s %s answers UNAUTHENTICATED to %s',
      async (service, method, _case, token) => {
        const client = grpcClient(service, urlOf(service), { token });
        try {
          const error = await grpcError(
            client.call(
              method,
              { orderId: randomUUID(), paymentId: randomUUID() },
              { 'idempotency-key': randomUUID() },
            ),
          );
          expect(error.code).toBe(status.UNAUTHENTICATED);
          expect(error.details).toBe('missing or invalid service credential');
        } finally {
          client.close();
        }
      },
    );

    it('runs no handler for a refused call: no payment, no PaymentIntent', async () => {
      const intents = stack.stripe.paymentIntents().length;
      const client = grpcClient('payments', stack.paymentsGrpcUrl, { token: WRONG_TOKEN });
      try {
        const request = createRequest();
        const error = await grpcError(
          client.call('CreatePayment', request, { 'idempotency-key': randomUUID() }),
        );
        expect(error.code).toBe(status.UNAUTHENTICATED);
        expect(stack.stripe.paymentIntents()).toHaveLength(intents);
        const db = new pg.Client({ connectionString: stack.paymentsDb.url });
        await db.connect();
        try {
          const { rows } = await db.query('SELECT 1 FROM payments WHERE order_id = $1', [
            request.orderId,
          ]);
          expect(rows).toHaveLength(0);
        } finally {
          await db.end();
        }
      } finally {
        client.close();
      }
    });

    it('answers the health Check without a service credential', async () => {
      expect(await grpcHealth(stack.paymentsGrpcUrl, 'payments.v1.PaymentService')).toBe('SERVING');
    });
  });
});
