import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { status } from '@grpc/grpc-js';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import pg from 'pg';
import type { UpdateOrderPaymentStatusResponse } from '#contracts/generated/orders/v1/orders.js';
import { PaymentStatus } from '#contracts/generated/payments/v1/payments.js';
import { createTestDatabase, type TestDatabase } from '#testing/database.js';
import { freePort } from '#testing/ports.js';
import { FakePayments } from './support/fake-payments.js';
import { grpcClient, grpcError, type RawGrpcClient } from './support/grpc.js';
import { expectProblem, type OrderBody, postOrder, sendHeaders } from './support/http.js';
import { startTestOrders, tokenFor } from './support/stack.js';

interface OrderView extends OrderBody {
  amountRefunded: number;
}

interface HistoryRow {
  from_status: string;
  to_status: string;
  payment_version: string | null;
  source: string;
}

const AMOUNT = 2 * 1500 + 899; // the total of support/http.ts's cart

describe('order payment lifecycle (orders against scripted payments)', () => {
  const apiKey = randomBytes(24).toString('base64url');
  let fake: FakePayments;
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let url: string;
  let orders: RawGrpcClient;
  let grpcUrl: string;
  let pool: pg.Pool;

  beforeAll(async () => {
    [fake, db] = await Promise.all([FakePayments.start(), createTestDatabase('orders')]);
    const [httpPort, grpcPort] = await Promise.all([freePort(), freePort()]);
    app = await startTestOrders({
      httpPort,
      grpcPort,
      databaseUrl: db.url,
      paymentsUrl: fake.url,
      env: { INTERNAL_API_KEY: apiKey },
    });
    url = `http://127.0.0.1:${httpPort}`;
    grpcUrl = `127.0.0.1:${grpcPort}`;
    orders = grpcClient('orders', grpcUrl);
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
  });

  afterAll(async () => {
    orders.close();
    await pool.end();
    await app.close();
    await fake.stop();
    await db.drop();
  });

  async function customer(): Promise<{ id: string; token: string }> {
    const id = `cus_${randomUUID()}`;
    return { id, token: await tokenFor(id) };
  }

  async function checkout(token: string): Promise<OrderView> {
    const response = await postOrder(url, token);
    expect(response.status).toBe(201);
    return (await response.json()) as OrderView;
  }

  async function read(token: string, id: string): Promise<OrderView> {
    const response = await fetch(`${url}/api/v1/orders/${id}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    return (await response.json()) as OrderView;
  }

  interface Update {
    status: string;
    version: number;
    amountRefunded?: number;
    disputed?: boolean;
    failureCode?: string;
  }

  /** payments' notification, as its outbox relay sends it. */
  function notify(
    order: OrderView,
    update: Update,
    metadata: Record<string, string> = { 'idempotency-key': `payment-v${update.version}` },
    client: RawGrpcClient = orders,
  ): Promise<UpdateOrderPaymentStatusResponse> {
    return client.call<UpdateOrderPaymentStatusResponse>(
      'UpdateOrderPaymentStatus',
      {
        orderId: order.id,
        paymentId: order.payment!.id,
        paymentStatus: `PAYMENT_STATUS_${update.status.toUpperCase()}`,
        paymentVersion: String(update.version),
        amountRefunded: String(update.amountRefunded ?? 0),
        disputed: update.disputed ?? false,
        failureCode: update.failureCode ?? '',
      },
      metadata,
    );
  }

  async function history(orderId: string): Promise<HistoryRow[]> {
    const { rows } = await pool.query<HistoryRow>(
      `SELECT from_status, to_status, payment_version::text AS payment_version, source
         FROM order_status_history WHERE order_id = $1 ORDER BY id`,
      [orderId],
    );
    return rows;
  }

  function post(
    path: string,
    options: { token?: string; key?: string | null; body?: unknown } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = {};
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const key = options.key === undefined ? randomUUID() : options.key;
    if (key !== null) headers['idempotency-key'] = key;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    return fetch(`${url}${path}`, {
      method: 'POST',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
  }

  /** An order whose payment succeeded, on both sides. */
  async function paidOrder(token: string): Promise<OrderView> {
    const order = await checkout(token);
    const payment = fake.change(order.payment!.id, {
      status: PaymentStatus.PAYMENT_STATUS_SUCCEEDED,
    });
    await notify(order, { status: 'succeeded', version: Number(payment.version) });
    return read(token, order.id);
  }

  describe('gRPC UpdateOrderPaymentStatus', () => {
    it('marks the order paid, as the customer then sees it', async () => {
      const { token } = await customer();
      const order = await checkout(token);
      expect(order.amountRefunded).toBe(0);

      const { order: message } = await notify(order, { status: 'succeeded', version: 2 });
      expect(message).toMatchObject({ id: order.id, status: 'ORDER_STATUS_PAID' });
      expect(await read(token, order.id)).toMatchObject({
        status: 'paid',
        amountRefunded: 0,
        payment: { id: order.payment!.id, status: 'succeeded' },
      });
      expect(await history(order.id)).toEqual([
        {
          from_status: 'pending_payment',
          to_status: 'awaiting_payment',
          payment_version: '1',
          source: 'customer',
        },
        {
          from_status: 'awaiting_payment',
          to_status: 'paid',
          payment_version: '2',
          source: 'payment_update',
        },
      ]);
    });

    it('applies an update once, however often and however concurrently it arrives', async () => {
      const { token } = await customer();
      const order = await checkout(token);
      // Concurrent deliveries come from several payments instances: one channel each.
      const relays = Array.from({ length: 10 }, () => grpcClient('orders', grpcUrl));
      try {
        await Promise.all(relays.map((relay) => relay.call('GetOrder', { orderId: order.id })));
        const answers = await Promise.all(
          relays.map((relay) =>
            notify(order, { status: 'succeeded', version: 2 }, undefined, relay),
          ),
        );
        for (let i = 0; i < 5; i++) {
          answers.push(await notify(order, { status: 'succeeded', version: 2 }));
        }
        expect(new Set(answers.map((answer) => answer.order?.status))).toEqual(
          new Set(['ORDER_STATUS_PAID']),
        );
      } finally {
        for (const relay of relays) relay.close();
      }
      const paid = (await history(order.id)).filter((row) => row.to_status === 'paid');
      expect(paid).toHaveLength(1);
    });

    it('ignores updates that are not newer than the last one applied', async () => {
      const { token } = await customer();
      const order = await checkout(token);
      await notify(order, { status: 'succeeded', version: 3 });
      const older = await notify(order, { status: 'processing', version: 2 });
      expect(older.order?.status).toBe('ORDER_STATUS_PAID');
      const sameVersion = await notify(order, { status: 'canceled', version: 3 });
      expect(sameVersion.order?.status).toBe('ORDER_STATUS_PAID');
      expect(await read(token, order.id)).toMatchObject({
        status: 'paid',
        payment: { status: 'succeeded' },
      });
      expect((await history(order.id)).map((row) => row.to_status)).toEqual([
        'awaiting_payment',
        'paid',
      ]);
    });

    it('lets a payment succeed after a declined attempt', async () => {
      const { token } = await customer();
      const order = await checkout(token);
      const declined = await notify(order, {
        status: 'requires_payment_method',
        version: 2,
        failureCode: 'card_declined',
      });
      expect(declined.order?.status).toBe('ORDER_STATUS_PAYMENT_FAILED');
      expect((await read(token, order.id)).status).toBe('payment_failed');
      const paid = await notify(order, { status: 'succeeded', version: 3 });
      expect(paid.order?.status).toBe('ORDER_STATUS_PAID');
      expect((await history(order.id)).slice(1)).toEqual([
        {
          from_status: 'awaiting_payment',
          to_status: 'payment_failed',
          payment_version: '2',
          source: 'payment_update',
        },
        {
          from_status: 'payment_failed',
          to_status: 'paid',
          payment_version: '3',
          source: 'payment_update',
        },
      ]);
    });

    it('follows refunds and disputes to the end', async () => {
      const { token } = await customer();
      const order = await checkout(token);
      const steps: [Update, string, number][] = [
        [{ status: 'succeeded', version: 2 }, 'paid', 0],
        [{ status: 'succeeded', version: 3, amountRefunded: 1000 }, 'partially_refunded', 1000],
        [
          { status: 'succeeded', version: 4, amountRefunded: 1000, disputed: true },
          'disputed',
          1000,
        ],
        // The dispute closed in the merchant's favour.
        [{ status: 'succeeded', version: 5, amountRefunded: 1000 }, 'partially_refunded', 1000],
        [{ status: 'succeeded', version: 6, amountRefunded: AMOUNT }, 'refunded', AMOUNT],
      ];
      for (const [update, expected, refunded] of steps) {
        await notify(order, update);
        expect(await read(token, order.id)).toMatchObject({
          status: expected,
          amountRefunded: refunded,
        });
      }
    });

    it('keeps a canceled order canceled when its payment succeeds late, but records the payment', async () => {
      const { token } = await customer();
      const order = await checkout(token);
      await notify(order, { status: 'canceled', version: 2 });
      const late = await notify(order, { status: 'succeeded', version: 3 });
      expect(late.order?.status).toBe('ORDER_STATUS_CANCELED');
      expect(await read(token, order.id)).toMatchObject({
        status: 'canceled',
        payment: { status: 'succeeded' },
      });
      expect((await history(order.id)).map((row) => row.to_status)).toEqual([
        'awaiting_payment',
        'canceled',
      ]);
    });

    it('refuses a call without idempotency-key metadata, and changes nothing', async () => {
      const { token } = await customer();
      const order = await checkout(token);
      const error = await grpcError(notify(order, { status: 'succeeded', version: 2 }, {}));
      expect(error.code).toBe(status.INVALID_ARGUMENT);
      expect(error.details).toMatch(/idempotency-key/);
      expect((await read(token, order.id)).status).toBe('awaiting_payment');
    });

    it.each([
      ['a malformed order id', { orderId: 'order-1' }],
      ['a malformed payment id', { paymentId: '' }],
      ['an unspecified status', { paymentStatus: 'PAYMENT_STATUS_UNSPECIFIED' }],
      ['version 0', { paymentVersion: '0' }],
      ['a negative refunded amount', { amountRefunded: '-1' }],
    ])('answers INVALID_ARGUMENT for %s', async (_case, patch) => {
      const { token } = await customer();
      const order = await checkout(token);
      const request = {
        orderId: order.id,
        paymentId: order.payment!.id,
        paymentStatus: 'PAYMENT_STATUS_SUCCEEDED',
        paymentVersion: '2',
        ...patch,
      };
      const error = await grpcError(
        orders.call('UpdateOrderPaymentStatus', request, { 'idempotency-key': 'k' }),
      );
      expect(error.code).toBe(status.INVALID_ARGUMENT);
      expect((await read(token, order.id)).status).toBe('awaiting_payment');
    });

    it("answers NOT_FOUND for an unknown order and FAILED_PRECONDITION for a payment that is not the order's", async () => {
      const { token } = await customer();
      const order = await checkout(token);
      const unknown = await grpcError(
        notify({ ...order, id: randomUUID() }, { status: 'succeeded', version: 2 }),
      );
      expect(unknown.code).toBe(status.NOT_FOUND);
      const otherPayment = { ...order, payment: { ...order.payment!, id: randomUUID() } };
      const foreign = await grpcError(notify(otherPayment, { status: 'succeeded', version: 2 }));
      expect(foreign.code).toBe(status.FAILED_PRECONDITION);
      expect((await read(token, order.id)).status).toBe('awaiting_payment');
    });
  });

  describe('POST /api/v1/webhooks/payment-updates', () => {
    const push = (body: unknown, headers: Record<string, string>) =>
      fetch(`${url}/api/v1/webhooks/payment-updates`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });

    const succeeded = (order: OrderView, version = 2) => ({
      orderId: order.id,
      paymentId: order.payment!.id,
      paymentStatus: 'succeeded',
      paymentVersion: version,
    });

    it('refuses callers without the internal API key', async () => {
      const { token } = await customer();
      const order = await checkout(token);
      const key = { 'x-idempotency-key': randomUUID() };
      await expectProblem(await push(succeeded(order), key), 401, '/problems/unauthenticated');
      await expectProblem(
        await push(succeeded(order), { ...key, 'x-api-key': `${apiKey}x` }),
        401,
        '/problems/unauthenticated',
      );
      // A customer's token is not an API key.
      await expectProblem(
        await push(succeeded(order), { ...key, authorization: `Bearer ${token}` }),
        401,
        '/problems/unauthenticated',
      );
      expect((await read(token, order.id)).status).toBe('awaiting_payment');
    });

    it.each([
      ['the right key and a wrong one', [apiKey, `${apiKey}x`]],
      ['a wrong key and the right one', [`${apiKey}x`, apiKey]],
      ['the right key twice', [apiKey, apiKey]],
    ])('answers 400 to two X-Api-Key headers (%s), changing nothing', async (_case, keys) => {
      const { token } = await customer();
      const order = await checkout(token);
      const response = await sendHeaders(`${url}/api/v1/webhooks/payment-updates`, {
        method: 'POST',
        headers: [
          ['content-type', 'application/json'],
          ['x-idempotency-key', randomUUID()],
          ...keys.map((key): [string, string] => ['x-api-key', key]),
        ],
        body: JSON.stringify(succeeded(order)),
      });
      const problem = await expectProblem(response, 400, '/problems/bad-request');
      expect(problem.errors).toEqual([{ field: 'X-Api-Key', message: 'must be sent only once' }]);
      expect((await read(token, order.id)).status).toBe('awaiting_payment');
    });

    it('applies the update and replays a repeated X-Idempotency-Key byte for byte', async () => {
      const { token } = await customer();
      const order = await checkout(token);
      const headers = { 'x-api-key': apiKey, 'x-idempotency-key': randomUUID() };
      const first = await push(succeeded(order), headers);
      expect(first.status).toBe(200);
      const text = await first.text();
      expect(JSON.parse(text)).toMatchObject({
        id: order.id,
        status: 'paid',
        amountRefunded: 0,
        payment: { status: 'succeeded' },
      });

      const replay = await push(succeeded(order), headers);
      expect(replay.status).toBe(200);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(await replay.text()).toBe(text);
      expect((await history(order.id)).filter((row) => row.to_status === 'paid')).toHaveLength(1);

      await expectProblem(
        await push({ ...succeeded(order, 3), amountRefunded: 100 }, headers),
        422,
        '/problems/idempotency-key-reused',
      );
      expect((await read(token, order.id)).amountRefunded).toBe(0);
    });

    it('applies concurrent pushes of one update once', async () => {
      const { token } = await customer();
      const order = await checkout(token);
      const responses = await Promise.all(
        Array.from({ length: 20 }, () =>
          push(succeeded(order), { 'x-api-key': apiKey, 'x-idempotency-key': randomUUID() }),
        ),
      );
      expect(new Set(responses.map((response) => response.status))).toEqual(new Set([200]));
      expect((await history(order.id)).filter((row) => row.to_status === 'paid')).toHaveLength(1);
    });

    it('takes the same update under another key as a repeat: nothing changes', async () => {
      const { token } = await customer();
      const order = await checkout(token);
      const headers = { 'x-api-key': apiKey };
      await push(succeeded(order, 5), { ...headers, 'x-idempotency-key': randomUUID() });
      const again = await push(
        { ...succeeded(order, 5), paymentStatus: 'canceled' },
        { ...headers, 'x-idempotency-key': randomUUID() },
      );
      expect(again.status).toBe(200);
      expect(((await again.json()) as OrderView).status).toBe('paid');
    });

    it('requires X-Idempotency-Key', async () => {
      const { token } = await customer();
      const order = await checkout(token);
      const problem = await expectProblem(
        await push(succeeded(order), { 'x-api-key': apiKey }),
        400,
        '/problems/bad-request',
      );
      expect(problem.errors).toEqual([{ field: 'X-Idempotency-Key', message: 'is required' }]);
    });

    it.each([
      ['an unknown field', { total: 1 }, 'total'],
      ['a gRPC status name', { paymentStatus: 'PAYMENT_STATUS_SUCCEEDED' }, 'paymentStatus'],
      ['a fractional version', { paymentVersion: 1.5 }, 'paymentVersion'],
      ['a version as a string', { paymentVersion: '2' }, 'paymentVersion'],
      ['a negative refunded amount', { amountRefunded: -1 }, 'amountRefunded'],
    ])('refuses %s with 422', async (_case, patch, field) => {
      const { token } = await customer();
      const order = await checkout(token);
      const problem = await expectProblem(
        await push(
          { ...succeeded(order), ...patch },
          { 'x-api-key': apiKey, 'x-idempotency-key': randomUUID() },
        ),
        422,
        '/problems/validation-failed',
      );
      expect(problem.errors?.map((error) => error.field)).toEqual([field]);
      expect((await read(token, order.id)).status).toBe('awaiting_payment');
    });

    it('answers 404 for an unknown order', async () => {
      const { token } = await customer();
      const order = await checkout(token);
      await expectProblem(
        await push(
          { ...succeeded(order), orderId: randomUUID() },
          { 'x-api-key': apiKey, 'x-idempotency-key': randomUUID() },
        ),
        404,
        '/problems/not-found',
      );
    });
  });

  describe('POST /api/v1/orders/:id/cancel', () => {
    it('cancels an order whose checkout never reached payments: its payment too, once', async () => {
      const { id: customerId, token } = await customer();
      const checkoutKey = randomUUID();
      fake.answer = status.UNAVAILABLE;
      try {
        await expectProblem(
          await postOrder(url, token, { key: checkoutKey }),
          503,
          '/problems/unavailable',
        );
      } finally {
        fake.answer = status.OK;
      }
      const { rows } = await pool.query<{ id: string; status: string }>(
        'SELECT id, status FROM orders WHERE customer_id = $1',
        [customerId],
      );
      expect(rows).toEqual([{ id: expect.any(String), status: 'pending_payment' }]);
      const orderId = rows[0].id;

      // Whether or not the checkout got as far as creating it, the order's own key finds (or
      // makes) its one payment, which is canceled with the order: nothing is left open.
      const response = await post(`/api/v1/orders/${orderId}/cancel`, { token });
      expect(response.status).toBe(200);
      const canceled = (await response.json()) as OrderView;
      expect(canceled).toMatchObject({
        id: orderId,
        status: 'canceled',
        payment: { id: expect.any(String), status: 'canceled' },
      });
      const created = fake.callsTo('CreatePayment').filter((c) => c.request.orderId === orderId);
      expect(new Set(created.map((call) => call.idempotencyKey))).toEqual(
        new Set([`order-${orderId}-create-payment`]),
      );
      expect(
        fake
          .callsTo('CancelPayment')
          .filter((call) => call.request.paymentId === canceled.payment!.id),
      ).toHaveLength(1);
      expect(await history(orderId)).toEqual([
        {
          from_status: 'pending_payment',
          to_status: 'awaiting_payment',
          payment_version: '1',
          source: 'customer',
        },
        {
          from_status: 'awaiting_payment',
          to_status: 'canceled',
          payment_version: '2',
          source: 'customer',
        },
      ]);

      // The interrupted checkout cannot bring the canceled order back to life, nor ask payments.
      const calls = fake.received.length;
      await expectProblem(
        await postOrder(url, token, { key: checkoutKey }),
        409,
        '/problems/conflict',
      );
      expect(fake.received).toHaveLength(calls);
      expect((await read(token, orderId)).status).toBe('canceled');
    });

    it('cancels the payment of an order awaiting payment, once', async () => {
      const { token } = await customer();
      const order = await checkout(token);
      const key = randomUUID();
      const path = `/api/v1/orders/${order.id}/cancel`;

      const first = await post(path, { token, key });
      expect(first.status).toBe(200);
      const text = await first.text();
      expect(JSON.parse(text)).toMatchObject({
        id: order.id,
        status: 'canceled',
        payment: { id: order.payment!.id, status: 'canceled' },
      });
      const calls = fake
        .callsTo('CancelPayment')
        .filter((call) => call.request.paymentId === order.payment!.id);
      expect(calls).toEqual([
        {
          method: 'CancelPayment',
          request: { paymentId: order.payment!.id },
          idempotencyKey: `order-${order.id}-cancel`,
        },
      ]);

      const replay = await post(path, { token, key });
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(await replay.text()).toBe(text);
      const again = await post(path, { token });
      expect(again.status).toBe(200);
      expect(((await again.json()) as OrderView).status).toBe('canceled');
      expect(
        fake
          .callsTo('CancelPayment')
          .filter((call) => call.request.paymentId === order.payment!.id),
      ).toHaveLength(1);
      expect((await history(order.id)).filter((row) => row.to_status === 'canceled')).toEqual([
        {
          from_status: 'awaiting_payment',
          to_status: 'canceled',
          payment_version: '2',
          source: 'customer',
        },
      ]);
    });

    it('cancels an order after a declined payment', async () => {
      const { token } = await customer();
      const order = await checkout(token);
      const declined = fake.change(order.payment!.id, { failureCode: 'card_declined' });
      await notify(order, {
        status: 'requires_payment_method',
        version: Number(declined.version),
        failureCode: 'card_declined',
      });
      expect((await read(token, order.id)).status).toBe('payment_failed');
      const response = await post(`/api/v1/orders/${order.id}/cancel`, { token });
      expect(response.status).toBe(200);
      expect(((await response.json()) as OrderView).status).toBe('canceled');
    });

    it('refuses to cancel a paid order (it needs a refund) without calling payments', async () => {
      const { token } = await customer();
      const order = await paidOrder(token);
      const before = fake.callsTo('CancelPayment').length;
      const problem = await expectProblem(
        await post(`/api/v1/orders/${order.id}/cancel`, { token }),
        409,
        '/problems/conflict',
      );
      expect(problem.detail).toMatch(/refund/);
      expect(fake.callsTo('CancelPayment')).toHaveLength(before);
      expect((await read(token, order.id)).status).toBe('paid');
    });

    it('answers 409 when the payment succeeded before payments could cancel it', async () => {
      const { token } = await customer();
      const order = await checkout(token);
      // Stripe says succeeded; orders has not heard yet.
      fake.change(order.payment!.id, { status: PaymentStatus.PAYMENT_STATUS_SUCCEEDED });
      const problem = await expectProblem(
        await post(`/api/v1/orders/${order.id}/cancel`, { token }),
        409,
        '/problems/conflict',
      );
      expect(problem.detail).toMatch(/refund/);
      expect((await read(token, order.id)).status).toBe('awaiting_payment');
    });

    it("requires an Idempotency-Key, and hides other customers' orders", async () => {
      const { token } = await customer();
      const order = await checkout(token);
      await expectProblem(
        await post(`/api/v1/orders/${order.id}/cancel`, { token, key: null }),
        400,
        '/problems/bad-request',
      );
      const other = await customer();
      await expectProblem(
        await post(`/api/v1/orders/${order.id}/cancel`, { token: other.token }),
        404,
        '/problems/not-found',
      );
      await expectProblem(
        await post(`/api/v1/orders/${order.id}/cancel`, {}),
        401,
        '/problems/unauthenticated',
      );
      expect((await read(token, order.id)).status).toBe('awaiting_payment');
    });
  });

  describe('POST /api/v1/orders/:id/refunds', () => {
    const refundCalls = (order: OrderView) =>
      fake.callsTo('ProcessRefund').filter((call) => call.request.paymentId === order.payment!.id);

    interface RefundBody {
      refund: {
        id: string;
        amount: number;
        currency: string;
        status: string;
        reason: string | null;
        createdAt: string;
      };
      order: OrderView;
    }

    it('refunds the whole order when no amount is given', async () => {
      const { token } = await customer();
      const order = await paidOrder(token);
      const response = await post(`/api/v1/orders/${order.id}/refunds`, { token, body: {} });
      expect(response.status).toBe(201);
      const body = (await response.json()) as RefundBody;
      expect(body.refund).toEqual({
        id: expect.any(String),
        amount: AMOUNT,
        currency: 'usd',
        status: 'succeeded',
        reason: null,
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
      expect(body.order).toMatchObject({
        id: order.id,
        status: 'refunded',
        amountRefunded: AMOUNT,
      });
      expect(await read(token, order.id)).toMatchObject({
        status: 'refunded',
        amountRefunded: AMOUNT,
      });
      const calls = refundCalls(order);
      expect(calls).toHaveLength(1);
      // No amount: payments refunds what remains by its own books.
      expect(calls[0].request.amount ?? undefined).toBeUndefined();
      expect(calls[0].idempotencyKey).toMatch(
        new RegExp(`^order-${order.id}-refund-[A-Za-z0-9_-]{32}$`),
      );
    });

    it('refunds part of the order, then the rest', async () => {
      const { token } = await customer();
      const order = await paidOrder(token);
      const partial = await post(`/api/v1/orders/${order.id}/refunds`, {
        token,
        body: { amount: 1000, reason: 'requested_by_customer' },
      });
      expect(partial.status).toBe(201);
      const first = (await partial.json()) as RefundBody;
      expect(first.refund).toMatchObject({ amount: 1000, reason: 'requested_by_customer' });
      expect(first.order).toMatchObject({ status: 'partially_refunded', amountRefunded: 1000 });
      expect(refundCalls(order)[0].request).toMatchObject({
        amount: { amount: '1000', currency: 'usd' },
        reason: 'requested_by_customer',
      });

      const rest = await post(`/api/v1/orders/${order.id}/refunds`, { token, body: {} });
      expect(rest.status).toBe(201);
      const second = (await rest.json()) as RefundBody;
      expect(second.refund.amount).toBe(AMOUNT - 1000);
      expect(second.order).toMatchObject({ status: 'refunded', amountRefunded: AMOUNT });
      const keys = refundCalls(order).map((call) => call.idempotencyKey);
      expect(new Set(keys).size).toBe(2);
    });

    it('refuses more than what remains with 422 once payments refuses too', async () => {
      const { token } = await customer();
      const order = await paidOrder(token);
      await post(`/api/v1/orders/${order.id}/refunds`, { token, body: { amount: 1000 } });
      const key = randomUUID();
      const problem = await expectProblem(
        await post(`/api/v1/orders/${order.id}/refunds`, {
          token,
          key,
          body: { amount: AMOUNT - 1000 + 1 },
        }),
        422,
        '/problems/precondition-failed',
      );
      expect(problem.detail).toMatch(String(AMOUNT - 1000));
      // payments was asked with this request's key: it could have been this request's retry.
      expect(refundCalls(order)).toHaveLength(2);
      expect((await read(token, order.id)).amountRefunded).toBe(1000);
    });

    it('answers a repeated request with the first answer: one refund', async () => {
      const { token } = await customer();
      const order = await paidOrder(token);
      const key = randomUUID();
      const path = `/api/v1/orders/${order.id}/refunds`;
      const first = await post(path, { token, key, body: { amount: 500 } });
      expect(first.status).toBe(201);
      const text = await first.text();
      const replay = await post(path, { token, key, body: { amount: 500 } });
      expect(replay.status).toBe(201);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(await replay.text()).toBe(text);
      expect(refundCalls(order)).toHaveLength(1);
      expect((await read(token, order.id)).amountRefunded).toBe(500);
    });

    it('reaches payments with the same key when a request is retried after payments was down', async () => {
      const { token } = await customer();
      const order = await paidOrder(token);
      const key = randomUUID();
      const path = `/api/v1/orders/${order.id}/refunds`;
      fake.fail('ProcessRefund', status.UNAVAILABLE);
      try {
        await expectProblem(
          await post(path, { token, key, body: { amount: 700 } }),
          503,
          '/problems/unavailable',
        );
      } finally {
        fake.succeed('ProcessRefund');
      }
      const retried = await post(path, { token, key, body: { amount: 700 } });
      expect(retried.status).toBe(201);
      const calls = refundCalls(order);
      expect(calls.length).toBeGreaterThan(1);
      expect(new Set(calls.map((call) => call.idempotencyKey)).size).toBe(1);

      // Another request, even with the same body, is another refund.
      const other = await post(path, { token, body: { amount: 700 } });
      expect(other.status).toBe(201);
      expect(new Set(refundCalls(order).map((call) => call.idempotencyKey)).size).toBe(2);
      expect((await read(token, order.id)).amountRefunded).toBe(1400);
    });

    it('answers 422 when payments refuses the refund', async () => {
      const { token } = await customer();
      const order = await paidOrder(token);
      fake.fail('ProcessRefund', status.FAILED_PRECONDITION);
      try {
        await expectProblem(
          await post(`/api/v1/orders/${order.id}/refunds`, { token, body: { amount: 100 } }),
          422,
          '/problems/precondition-failed',
        );
      } finally {
        fake.succeed('ProcessRefund');
      }
      expect((await read(token, order.id)).status).toBe('paid');
    });

    it('refuses an order that was never paid with 409 and no call', async () => {
      const { token } = await customer();
      const unpaid = await checkout(token);
      await expectProblem(
        await post(`/api/v1/orders/${unpaid.id}/refunds`, { token, body: {} }),
        409,
        '/problems/conflict',
      );
      expect(refundCalls(unpaid)).toHaveLength(0);
    });

    it('refuses a disputed order with 409 once payments refuses too', async () => {
      const { token } = await customer();
      const disputed = await paidOrder(token);
      const payment = fake.change(disputed.payment!.id, { disputed: true });
      await notify(disputed, {
        status: 'succeeded',
        version: Number(payment.version),
        disputed: true,
      });
      const problem = await expectProblem(
        await post(`/api/v1/orders/${disputed.id}/refunds`, { token, body: {} }),
        409,
        '/problems/conflict',
      );
      expect(problem.detail).toMatch(/disputed/);
      expect(refundCalls(disputed)).toHaveLength(1);
      expect((await read(token, disputed.id)).amountRefunded).toBe(0);
    });

    it.each([
      ['a zero amount', { amount: 0 }, 'amount'],
      ['a fractional amount', { amount: 1.5 }, 'amount'],
      ['an amount as a string', { amount: '100' }, 'amount'],
      ['an unknown reason', { reason: 'changed_mind' }, 'reason'],
      ['an unknown field', { currency: 'usd' }, 'currency'],
      ['a body that is not an object', [], '(body)'],
    ])('refuses %s with 422 before calling payments', async (_case, body, field) => {
      const { token } = await customer();
      const order = await paidOrder(token);
      const problem = await expectProblem(
        await post(`/api/v1/orders/${order.id}/refunds`, { token, body }),
        422,
        '/problems/validation-failed',
      );
      expect(problem.errors?.map((error) => error.field)).toEqual([field]);
      expect(refundCalls(order)).toHaveLength(0);
    });

    it("requires an Idempotency-Key, and hides other customers' orders", async () => {
      const { token } = await customer();
      const order = await paidOrder(token);
      await expectProblem(
        await post(`/api/v1/orders/${order.id}/refunds`, { token, key: null, body: {} }),
        400,
        '/problems/bad-request',
      );
      const other = await customer();
      await expectProblem(
        await post(`/api/v1/orders/${order.id}/refunds`, { token: other.token, body: {} }),
        404,
        '/problems/not-found',
      );
      expect(refundCalls(order)).toHaveLength(0);
    });
  });
});
