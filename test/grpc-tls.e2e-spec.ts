import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { type ChannelCredentials, credentials, ServerCredentials, status } from '@grpc/grpc-js';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import Stripe from 'stripe';
import { STAND_IN_STRIPE_KEY } from '#common/config/defaults.js';
import { createTestDatabase, type TestDatabase } from '#testing/database.js';
import { freePort } from '#testing/ports.js';
import { type Issued, TestPki } from './support/certificates.js';
import { grpcClient, grpcError, grpcHealth } from './support/grpc.js';
import { FakePayments } from './support/fake-payments.js';
import { expectProblem, type OrderBody, postOrder } from './support/http.js';
import { Stack, startTestOrders, tokenFor } from './support/stack.js';
import { waitFor } from './support/wait.js';

const pki = new TestPki();
const ca = pki.authority('orders-payments test CA');
const stranger = pki.authority('a CA nobody here trusts');
const paymentsServer = ca.sign('payments', 'server');
const ordersServer = ca.sign('orders', 'server');
const ordersClient = ca.sign('orders', 'client');
const paymentsClient = ca.sign('payments', 'client');
const intruderClient = stranger.sign('orders', 'client');

afterAll(() => pki.remove());

/** TLS trusting `authority`, presenting `identity` when given. */
function tls(authority: Issued, identity?: Issued): ChannelCredentials {
  return credentials.createSsl(
    Buffer.from(authority.cert),
    identity ? Buffer.from(identity.key) : null,
    identity ? Buffer.from(identity.cert) : null,
  );
}

/** Where a call ends: its gRPC status code (OK when it got an answer). */
async function outcome(
  address: string,
  channel: ChannelCredentials,
  token?: string | null,
): Promise<status> {
  const client = grpcClient('payments', address, { credentials: channel, token });
  try {
    // An unknown payment: NOT_FOUND means the call got through to the handler.
    return (await grpcError(client.call('GetPayment', { paymentId: randomUUID() }))).code;
  } finally {
    client.close();
  }
}

describe('gRPC over TLS (end to end)', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({
      payments: {
        PAYMENTS_GRPC_TLS_CERT: paymentsServer.certPath,
        PAYMENTS_GRPC_TLS_KEY: paymentsServer.keyPath,
      },
      orders: { PAYMENTS_GRPC_TLS_CA: ca.certPath },
    });
  });

  afterAll(() => stack.stop());

  it('answers a client that trusts the CA', async () => {
    expect(await outcome(stack.paymentsGrpcUrl, tls(ca))).toBe(status.NOT_FOUND);
    expect(await grpcHealth(stack.paymentsGrpcUrl, '', tls(ca))).toBe('SERVING');
  });

  it('refuses a plaintext client', async () => {
    expect(await outcome(stack.paymentsGrpcUrl, credentials.createInsecure())).toBe(
      status.UNAVAILABLE,
    );
  });

  it('refuses a client that does not trust the CA', async () => {
    expect(await outcome(stack.paymentsGrpcUrl, tls(stranger))).toBe(status.UNAVAILABLE);
  });

  it('takes a checkout: orders calls payments over TLS', async () => {
    const response = await postOrder(stack.ordersUrl, await tokenFor('cus_tls'));
    expect(response.status).toBe(201);
    const order = (await response.json()) as OrderBody;
    expect(order.payment?.clientSecret).toMatch(/^pi_.+_secret_/);
  });
});

describe('gRPC over mutual TLS (end to end)', () => {
  let stack: Stack;
  let token: string;

  beforeAll(async () => {
    stack = await Stack.start({
      webhooks: true,
      payments: {
        PAYMENTS_GRPC_TLS_CERT: paymentsServer.certPath,
        PAYMENTS_GRPC_TLS_KEY: paymentsServer.keyPath,
        PAYMENTS_GRPC_TLS_CLIENT_CA: ca.certPath,
        ORDERS_GRPC_TLS_CA: ca.certPath,
        ORDERS_GRPC_TLS_CLIENT_CERT: paymentsClient.certPath,
        ORDERS_GRPC_TLS_CLIENT_KEY: paymentsClient.keyPath,
      },
      orders: {
        ORDERS_GRPC_TLS_CERT: ordersServer.certPath,
        ORDERS_GRPC_TLS_KEY: ordersServer.keyPath,
        ORDERS_GRPC_TLS_CLIENT_CA: ca.certPath,
        PAYMENTS_GRPC_TLS_CA: ca.certPath,
        PAYMENTS_GRPC_TLS_CLIENT_CERT: ordersClient.certPath,
        PAYMENTS_GRPC_TLS_CLIENT_KEY: ordersClient.keyPath,
      },
    });
    token = await tokenFor('cus_mtls');
  });

  afterAll(() => stack.stop());

  it('refuses a client without a certificate', async () => {
    expect(await outcome(stack.paymentsGrpcUrl, tls(ca))).toBe(status.UNAVAILABLE);
  });

  it('refuses a client whose certificate another CA signed', async () => {
    expect(await outcome(stack.paymentsGrpcUrl, tls(ca, intruderClient))).toBe(status.UNAVAILABLE);
  });

  it('answers a client with a certificate the CA signed', async () => {
    expect(await outcome(stack.paymentsGrpcUrl, tls(ca, ordersClient))).toBe(status.NOT_FOUND);
  });

  it('still requires the service token from a client with a valid certificate', async () => {
    expect(await outcome(stack.paymentsGrpcUrl, tls(ca, ordersClient), null)).toBe(
      status.UNAUTHENTICATED,
    );
  });

  it('runs a whole payment over mTLS both ways: checkout, then the outbox marks the order paid', async () => {
    const created = await postOrder(stack.ordersUrl, token);
    expect(created.status).toBe(201);
    const order = (await created.json()) as OrderBody;
    const stripe = new Stripe(STAND_IN_STRIPE_KEY, {
      host: '127.0.0.1',
      port: stack.stripe.port,
      protocol: 'http',
      maxNetworkRetries: 0,
    });
    await stripe.paymentIntents.confirm(order.payment!.clientSecret!.split('_secret_')[0], {
      payment_method: 'pm_card_visa',
    });
    // payments learns it from the webhook and tells orders through the outbox, over mTLS.
    expect(await statusOnceSettled(order.id)).toBe('paid');

    const ready = await fetch(`${stack.ordersUrl}/health/ready`);
    const body = (await ready.json()) as { details: { payments: { reachable: boolean } } };
    expect(body.details.payments.reachable).toBe(true);
  });

  /** The order's status once it leaves awaiting_payment. */
  function statusOnceSettled(id: string): Promise<string> {
    return waitFor(`order ${id} to leave awaiting_payment`, async () => {
      const response = await fetch(`${stack.ordersUrl}/api/v1/orders/${id}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const { status: current } = (await response.json()) as OrderBody;
      return current === 'awaiting_payment' ? undefined : current;
    });
  }
});

describe('gRPC over TLS to several payments servers (scripted payments)', () => {
  // Every instance's certificate names the service, not an address: the usual fleet certificate.
  const fleetServer = ca.sign('payments', 'server', ['payments.internal']);
  const servers: FakePayments[] = [];
  let db: TestDatabase;
  let orders: NestFastifyApplication | undefined;
  let token: string;

  beforeAll(async () => {
    const credentials = ServerCredentials.createSsl(null, [
      { cert_chain: Buffer.from(fleetServer.cert), private_key: Buffer.from(fleetServer.key) },
    ]);
    db = await createTestDatabase('orders');
    servers.push(await FakePayments.start(credentials), await FakePayments.start(credentials));
    token = await tokenFor('cus_tls_fleet');
  });

  afterEach(async () => {
    await orders?.close();
    orders = undefined;
  });

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    await db.drop();
  });

  async function startOrders(env: NodeJS.ProcessEnv): Promise<string> {
    const [httpPort, grpcPort] = await Promise.all([freePort(), freePort()]);
    orders = await startTestOrders({
      httpPort,
      grpcPort,
      databaseUrl: db.url,
      paymentsUrl: `ipv4:${servers.map((server) => server.url).join(',')}`,
      env: { PAYMENTS_GRPC_TLS_CA: ca.certPath, ...env },
    });
    return `http://127.0.0.1:${httpPort}`;
  }

  it('checks every server against PAYMENTS_GRPC_TLS_SERVER_NAME, and sends each its service token', async () => {
    const url = await startOrders({ PAYMENTS_GRPC_TLS_SERVER_NAME: 'payments.internal' });
    for (let i = 0; i < 10; i++) expect((await postOrder(url, token)).status).toBe(201);
    // The fakes refuse a call without orders' token: each of them answered some.
    expect(servers.map((server) => server.calls > 0)).toEqual([true, true]);
  });

  it('refuses the servers when their certificate does not name the target host (no server name set)', async () => {
    const before = servers.map((server) => server.calls);
    const url = await startOrders({ PAYMENTS_BREAKER_THRESHOLD: '100' });
    await expectProblem(await postOrder(url, token), 503, '/problems/unavailable');
    expect(servers.map((server) => server.calls)).toEqual(before);
  });
});
