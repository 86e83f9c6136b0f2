import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { SignJWT } from 'jose';
import { DEV_JWT_SECRET } from '#common/defaults.js';
import { createTestDatabase, type TestDatabase } from '#testing/database.js';
import { freePort } from '#testing/ports.js';
import { StripeStandIn } from '#stripe-stand-in/server.js';
import { startOrdersApp } from '../../apps/orders/src/bootstrap.js';
import { loadOrdersConfig } from '../../apps/orders/src/config.js';
import { startPaymentsApp } from '../../apps/payments/src/bootstrap.js';
import { loadPaymentsConfig } from '../../apps/payments/src/config.js';

/**
 * Both services as they run in production, over loopback: their own databases on the test
 * PostgreSQL, real gRPC between them, payments talking to the Stripe stand-in through the SDK.
 */
export class Stack {
  private constructor(
    readonly stripe: StripeStandIn,
    readonly ordersDb: TestDatabase,
    readonly paymentsDb: TestDatabase,
    private readonly ports: Record<
      'ordersHttp' | 'ordersGrpc' | 'paymentsHttp' | 'paymentsGrpc',
      number
    >,
    private ordersApp?: NestFastifyApplication,
    private paymentsApp?: NestFastifyApplication,
  ) {}

  static async start(): Promise<Stack> {
    const [stripe, ordersDb, paymentsDb, ordersHttp, ordersGrpc, paymentsHttp, paymentsGrpc] =
      await Promise.all([
        StripeStandIn.start({ port: 0 }),
        createTestDatabase('orders'),
        createTestDatabase('payments'),
        freePort(),
        freePort(),
        freePort(),
        freePort(),
      ]);
    const stack = new Stack(stripe, ordersDb, paymentsDb, {
      ordersHttp,
      ordersGrpc,
      paymentsHttp,
      paymentsGrpc,
    });
    try {
      await stack.startPayments();
      await stack.startOrders();
    } catch (error) {
      await stack.stop();
      throw error;
    }
    return stack;
  }

  async startOrders(): Promise<void> {
    const { ordersHttp, ordersGrpc, paymentsGrpc } = this.ports;
    this.ordersApp = await startOrdersApp(
      loadOrdersConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: 'fatal',
        ORDERS_HTTP_PORT: String(ordersHttp),
        ORDERS_GRPC_PORT: String(ordersGrpc),
        ORDERS_DATABASE_URL: this.ordersDb.url,
        ORDERS_DATABASE_POOL_SIZE: '4',
        PAYMENTS_GRPC_URL: `127.0.0.1:${paymentsGrpc}`,
        PAYMENTS_GRPC_TIMEOUT_MS: '5000',
      }),
    );
  }

  get ordersUrl(): string {
    return `http://127.0.0.1:${this.ports.ordersHttp}`;
  }

  get paymentsUrl(): string {
    return `http://127.0.0.1:${this.ports.paymentsHttp}`;
  }

  get ordersGrpcUrl(): string {
    return `127.0.0.1:${this.ports.ordersGrpc}`;
  }

  get paymentsGrpcUrl(): string {
    return `127.0.0.1:${this.ports.paymentsGrpc}`;
  }

  async startPayments(): Promise<void> {
    this.paymentsApp = await startPaymentsApp(
      loadPaymentsConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: 'fatal',
        PAYMENTS_HTTP_PORT: String(this.ports.paymentsHttp),
        PAYMENTS_GRPC_PORT: String(this.ports.paymentsGrpc),
        PAYMENTS_DATABASE_URL: this.paymentsDb.url,
        PAYMENTS_DATABASE_POOL_SIZE: '4',
        STRIPE_API_URL: this.stripe.url,
        STRIPE_MAX_NETWORK_RETRIES: '0',
      }),
    );
  }

  async stopPayments(): Promise<void> {
    await this.paymentsApp?.close();
    this.paymentsApp = undefined;
  }

  async stop(): Promise<void> {
    await this.ordersApp?.close();
    await this.stopPayments();
    await this.stripe.stop();
    await Promise.all([this.ordersDb.drop(), this.paymentsDb.drop()]);
  }
}

/** A storefront token for the customer, signed like the development tokens. */
export function tokenFor(
  customerId: string,
  options: { secret?: string; expiresIn?: string | number } = {},
): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(customerId)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '5m')
    .sign(new TextEncoder().encode(options.secret ?? DEV_JWT_SECRET));
}
