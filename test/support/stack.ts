import { jest } from '@jest/globals';
import type { ClientGrpcProxy } from '@nestjs/microservices';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { SignJWT } from 'jose';
import { DEV_JWT_SECRET, DEV_WEBHOOK_SECRET } from '#common/config/defaults.js';
import { createTestDatabase, type TestDatabase } from '#testing/database.js';
import { freePort } from '#testing/ports.js';
import { StripeStandIn } from '#stripe-stand-in/server.js';
import { startOrdersApp } from '../../apps/orders/src/bootstrap.js';
import { loadOrdersConfig } from '../../apps/orders/src/config.js';
import {
  PAYMENT_SERVICE_NAME,
  type PaymentServiceClient,
} from '#contracts/generated/payments/v1/payments.js';
import {
  PAYMENTS_GRPC,
  PaymentsClient,
} from '../../apps/orders/src/payments-client/payments.client.js';
import { startPaymentsApp } from '../../apps/payments/src/bootstrap.js';
import { Faults } from '../../apps/payments/src/fault-injection/faults.js';
import { loadPaymentsConfig } from '../../apps/payments/src/config.js';

type PaymentMethod = keyof PaymentServiceClient;
const PAYMENT_METHODS: PaymentMethod[] = [
  'createPayment',
  'getPayment',
  'cancelPayment',
  'processRefund',
];

/** Extra environment for either service (overrides the test defaults). */
export interface StackEnv {
  orders?: NodeJS.ProcessEnv;
  payments?: NodeJS.ProcessEnv;
  /** Have the Stripe stand-in deliver its signed events to payments, as Stripe would. */
  webhooks?: boolean;
  /** The PostgreSQL server for both databases (default: the tests' shared one). */
  postgresAdminUrl?: string;
}

/**
 * Both services as they run in production, over loopback: their own databases on the test
 * PostgreSQL, real gRPC between them, payments talking to the Stripe stand-in through the SDK.
 */
export class Stack {
  private constructor(
    private readonly env: StackEnv,
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

  static async start(env: StackEnv = {}): Promise<Stack> {
    const [stripe, ordersDb, paymentsDb, ordersHttp, ordersGrpc, paymentsHttp, paymentsGrpc] =
      await Promise.all([
        StripeStandIn.start({
          port: 0,
          webhookRetry: { initialDelayMs: 100, maxDelayMs: 1000 },
        }),
        createTestDatabase('orders', env.postgresAdminUrl),
        createTestDatabase('payments', env.postgresAdminUrl),
        freePort(),
        freePort(),
        freePort(),
        freePort(),
      ]);
    const stack = new Stack(env, stripe, ordersDb, paymentsDb, {
      ordersHttp,
      ordersGrpc,
      paymentsHttp,
      paymentsGrpc,
    });
    if (env.webhooks) {
      stripe.setWebhook(`${stack.paymentsUrl}/webhooks/stripe`, DEV_WEBHOOK_SECRET);
    }
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
    this.ordersApp = await startTestOrders({
      httpPort: ordersHttp,
      grpcPort: ordersGrpc,
      databaseUrl: this.ordersDb.url,
      paymentsUrl: `127.0.0.1:${paymentsGrpc}`,
      env: this.env.orders,
    });
  }

  async stopOrders(): Promise<void> {
    await this.ordersApp?.close();
    this.ordersApp = undefined;
  }

  /** The running orders application (for its providers). */
  get orders(): NestFastifyApplication {
    if (!this.ordersApp) throw new Error('orders is not running');
    return this.ordersApp;
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
        PAYMENTS_FAULT_INJECTION: 'true',
        ORDERS_GRPC_URL: `127.0.0.1:${this.ports.ordersGrpc}`,
        OUTBOX_POLL_INTERVAL_MS: '100',
        OUTBOX_MAX_BACKOFF_MS: '1000',
        RATE_LIMIT_WEBHOOK_LIMIT: '1000000',
        ...this.env.payments,
      }),
    );
  }

  /** The running payments application. */
  get payments(): NestFastifyApplication {
    if (!this.paymentsApp) throw new Error('payments is not running');
    return this.paymentsApp;
  }

  /** payments' fault injection (see apps/payments/src/fault-injection/faults.ts). */
  get paymentFaults(): Faults {
    if (!this.paymentsApp) throw new Error('payments is not running');
    return this.paymentsApp.get(Faults);
  }

  /** orders' client of payments, for its circuit state. */
  get paymentsClient(): PaymentsClient {
    return this.orders.get(PaymentsClient);
  }

  /**
   * Counts the gRPC calls orders sends to payments from now on, each attempt of a retried call
   * apart: spies on the grpc-js client that orders' ClientGrpc sends every call through, so they
   * are counted even while payments is down.
   */
  countPaymentCalls(): () => number {
    const client = this.orders
      .get<ClientGrpcProxy>(PAYMENTS_GRPC)
      .getClientByServiceName<Record<PaymentMethod, () => unknown>>(PAYMENT_SERVICE_NAME);
    // spyOn returns the spy already in place when called again: count from its current total.
    const spies = PAYMENT_METHODS.map((method) => jest.spyOn(client, method));
    const total = () => spies.reduce((sum, spy) => sum + spy.mock.calls.length, 0);
    const before = total();
    return () => total() - before;
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

/** orders alone, as the tests configure it, talking to whatever listens at `paymentsUrl`. */
export function startTestOrders(options: {
  httpPort: number;
  grpcPort: number;
  databaseUrl: string;
  paymentsUrl: string;
  env?: NodeJS.ProcessEnv;
}): Promise<NestFastifyApplication> {
  return startOrdersApp(
    loadOrdersConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'fatal',
      ORDERS_HTTP_PORT: String(options.httpPort),
      ORDERS_GRPC_PORT: String(options.grpcPort),
      ORDERS_DATABASE_URL: options.databaseUrl,
      ORDERS_DATABASE_POOL_SIZE: '4',
      PAYMENTS_GRPC_URL: options.paymentsUrl,
      PAYMENTS_RETRY_INITIAL_DELAY_MS: '10',
      PAYMENTS_RETRY_MAX_DELAY_MS: '50',
      // Suites create many orders for one customer quickly; rate-limit suites set their own.
      RATE_LIMIT_DEFAULT_LIMIT: '1000000',
      RATE_LIMIT_CHECKOUT_LIMIT: '1000000',
      RATE_LIMIT_CHECKOUT_ADDRESS_LIMIT: '1000000',
      RATE_LIMIT_WEBHOOK_LIMIT: '1000000',
      ...options.env,
    }),
  );
}

/** A storefront token for the customer, signed like the development tokens. */
export function tokenFor(
  customerId: string,
  options: { secret?: string; expiresIn?: string | number; roles?: string[] } = {},
): Promise<string> {
  return new SignJWT({ roles: options.roles ?? ['customer'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(customerId)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '5m')
    .sign(new TextEncoder().encode(options.secret ?? DEV_JWT_SECRET));
}
