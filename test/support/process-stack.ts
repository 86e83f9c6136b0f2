import { StripeStandIn } from '#stripe-stand-in/server.js';
import { createTestDatabase, type TestDatabase } from '#testing/database.js';
import { freePort } from '#testing/ports.js';
import { OtlpReceiver } from './otlp-receiver.js';
import { ServiceProcess } from './service-process.js';

type Ports = Record<'ordersHttp' | 'ordersGrpc' | 'paymentsHttp' | 'paymentsGrpc', number>;

/**
 * Both services as production processes from dist/ with OpenTelemetry on, exporting OTLP/JSON to
 * a receiver in the test, payments calling the Stripe stand-in, each with a fresh database.
 */
export class ProcessStack {
  private constructor(
    readonly receiver: OtlpReceiver,
    readonly stripe: StripeStandIn,
    private readonly databases: TestDatabase[],
    readonly ports: Ports,
    private readonly paymentsEnv: NodeJS.ProcessEnv,
    public payments: ServiceProcess,
    public orders: ServiceProcess,
  ) {}

  static async start(
    options: {
      orders?: NodeJS.ProcessEnv;
      payments?: NodeJS.ProcessEnv;
      otel?: NodeJS.ProcessEnv;
    } = {},
  ): Promise<ProcessStack> {
    const [receiver, stripe, ordersDb, paymentsDb] = await Promise.all([
      OtlpReceiver.start(),
      StripeStandIn.start({ port: 0 }),
      createTestDatabase('orders'),
      createTestDatabase('payments'),
    ]);
    const [ordersHttp, ordersGrpc, paymentsHttp, paymentsGrpc] = await Promise.all(
      [1, 2, 3, 4].map(() => freePort()),
    );
    const otel = {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_LOGS_EXPORTER: 'none',
      ...options.otel,
    };
    const paymentsEnv = {
      ...otel,
      NODE_ENV: 'test',
      LOG_LEVEL: 'log',
      OTEL_SERVICE_NAME: 'payments',
      PAYMENTS_HTTP_PORT: String(paymentsHttp),
      PAYMENTS_GRPC_PORT: String(paymentsGrpc),
      PAYMENTS_DATABASE_URL: paymentsDb.url,
      STRIPE_API_URL: stripe.url,
      STRIPE_MAX_NETWORK_RETRIES: '0',
      ORDERS_GRPC_URL: `127.0.0.1:${ordersGrpc}`,
      OUTBOX_POLL_INTERVAL_MS: '100',
      RATE_LIMIT_WEBHOOK_LIMIT: '1000000',
      ...options.payments,
    };
    const payments = await ServiceProcess.start(
      'payments',
      paymentsEnv,
      `http://127.0.0.1:${paymentsHttp}/health/ready`,
    );
    const orders = await ServiceProcess.start(
      'orders',
      {
        ...otel,
        NODE_ENV: 'test',
        LOG_LEVEL: 'log',
        OTEL_SERVICE_NAME: 'orders',
        ORDERS_HTTP_PORT: String(ordersHttp),
        ORDERS_GRPC_PORT: String(ordersGrpc),
        ORDERS_DATABASE_URL: ordersDb.url,
        PAYMENTS_GRPC_URL: `127.0.0.1:${paymentsGrpc}`,
        PAYMENTS_RETRY_INITIAL_DELAY_MS: '10',
        PAYMENTS_RETRY_MAX_DELAY_MS: '50',
        RATE_LIMIT_DEFAULT_LIMIT: '1000000',
        RATE_LIMIT_CHECKOUT_LIMIT: '1000000',
        RATE_LIMIT_CHECKOUT_ADDRESS_LIMIT: '1000000',
        RATE_LIMIT_WEBHOOK_LIMIT: '1000000',
        ...options.orders,
      },
      `http://127.0.0.1:${ordersHttp}/health/ready`,
    );
    return new ProcessStack(
      receiver,
      stripe,
      [ordersDb, paymentsDb],
      { ordersHttp, ordersGrpc, paymentsHttp, paymentsGrpc },
      paymentsEnv,
      payments,
      orders,
    );
  }

  get ordersUrl(): string {
    return `http://127.0.0.1:${this.ports.ordersHttp}`;
  }

  get paymentsUrl(): string {
    return `http://127.0.0.1:${this.ports.paymentsHttp}`;
  }

  get paymentsGrpcUrl(): string {
    return `127.0.0.1:${this.ports.paymentsGrpc}`;
  }

  async restartPayments(): Promise<void> {
    await this.payments.stop();
    this.payments = await ServiceProcess.start(
      'payments',
      this.paymentsEnv,
      `${this.paymentsUrl}/health/ready`,
    );
  }

  async stop(): Promise<void> {
    await this.orders.stop();
    await this.payments.stop();
    await this.stripe.stop();
    await this.receiver.stop();
    await Promise.all(this.databases.map((db) => db.drop()));
  }
}
