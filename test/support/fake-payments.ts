import { randomUUID } from 'node:crypto';
import {
  type GrpcObject,
  loadPackageDefinition,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServiceClientConstructor,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { grpcLoaderOptions, IDEMPOTENCY_KEY_METADATA, paymentsProtoPath } from '#contracts/grpc.js';
import { DEV_GRPC_TOKENS } from '#common/config/defaults.js';
import { serviceAuthInterceptor, ServiceTokens } from '#common/grpc/auth.js';
import type { Money } from '#contracts/generated/common/v1/money.js';
import {
  type Payment,
  PaymentStatus,
  type Refund,
  RefundStatus,
} from '#contracts/generated/payments/v1/payments.js';

export type FakeMethod = 'CreatePayment' | 'GetPayment' | 'CancelPayment' | 'ProcessRefund';

/** A call as the fake received it. */
export interface ReceivedCall {
  method: FakeMethod;
  request: Record<string, unknown>;
  /** The `idempotency-key` metadata entry, if any. */
  idempotencyKey?: string;
}

/** What the fake answers with instead of a response. */
class Refusal extends Error {
  constructor(
    readonly code: status,
    readonly details: string,
  ) {
    super(details);
  }
}

/**
 * A scripted payments.v1.PaymentService, for testing orders without the real payments service.
 * It keeps payments in memory and behaves like payments on the happy paths (one payment per order,
 * versions that grow with each change, cancels and refunds with their refusals, keyed repeats of
 * refunds), records every call, and answers any method with a chosen gRPC status on demand.
 * Like payments, it answers UNAUTHENTICATED to calls without orders' (development) service token.
 */
export class FakePayments {
  /** CreatePayment calls received. */
  calls = 0;
  /** CreatePayment's answer: OK creates (or returns) the order's payment; any other code fails. */
  answer: status = status.OK;
  /** Every call, oldest first. */
  readonly received: ReceivedCall[] = [];

  private readonly payments = new Map<string, Payment>();
  private readonly failures = new Map<FakeMethod, status>();
  private readonly refundsByKey = new Map<string, { refund: Refund; payment: Payment }>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  /** Plaintext unless given server credentials (TLS). */
  static async start(credentials = ServerCredentials.createInsecure()): Promise<FakePayments> {
    const root = loadPackageDefinition(loadSync(paymentsProtoPath(), grpcLoaderOptions()));
    const service = ((root.payments as GrpcObject).v1 as GrpcObject)
      .PaymentService as ServiceClientConstructor;
    // Checks orders' service token like payments does, so every test proves each call carries it.
    const server = new Server({
      interceptors: [
        serviceAuthInterceptor(
          new ServiceTokens([{ caller: 'orders', token: DEV_GRPC_TOKENS.ordersToPayments }]),
        ),
      ],
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', credentials, (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    const fake = new FakePayments(server, `127.0.0.1:${port}`);
    server.addService(service.service, {
      CreatePayment: fake.handler('CreatePayment', (request) => ({
        payment: fake.createPayment(request),
      })),
      GetPayment: fake.handler('GetPayment', (request) => ({
        payment: fake.find(request.paymentId as string),
      })),
      CancelPayment: fake.handler('CancelPayment', (request) => ({
        payment: fake.cancel(request.paymentId as string),
      })),
      ProcessRefund: fake.handler('ProcessRefund', (request, key) => fake.refund(request, key!)),
    });
    return fake;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.tryShutdown(() => resolve()));
  }

  /** Makes every call of `method` fail with `code` until `succeed(method)`. */
  fail(method: Exclude<FakeMethod, 'CreatePayment'>, code: status): void {
    this.failures.set(method, code);
  }

  succeed(method: Exclude<FakeMethod, 'CreatePayment'>): void {
    this.failures.delete(method);
  }

  callsTo(method: FakeMethod): ReceivedCall[] {
    return this.received.filter((call) => call.method === method);
  }

  /** The payment as the fake holds it. */
  payment(paymentId: string): Payment {
    return structuredClone(this.find(paymentId));
  }

  /**
   * Changes a payment the way payments would when Stripe reports something (without telling
   * orders): the fields change and the version goes up by one.
   */
  change(paymentId: string, fields: Partial<Omit<Payment, 'id' | 'version'>>): Payment {
    const payment = this.find(paymentId);
    Object.assign(payment, fields);
    this.bump(payment);
    return structuredClone(payment);
  }

  private handler(
    method: FakeMethod,
    answer: (request: Record<string, unknown>, key: string | undefined) => unknown,
  ) {
    return (
      call: ServerUnaryCall<Record<string, unknown>, unknown>,
      callback: sendUnaryData<unknown>,
    ) => {
      const [key] = call.metadata.get(IDEMPOTENCY_KEY_METADATA);
      const idempotencyKey = typeof key === 'string' ? key : undefined;
      this.received.push({ method, request: call.request, idempotencyKey });
      if (method === 'CreatePayment') this.calls++;
      const scripted = method === 'CreatePayment' ? this.answer : this.failures.get(method);
      if (scripted !== undefined && scripted !== status.OK) {
        callback({ code: scripted, details: `scripted status ${scripted}` });
        return;
      }
      try {
        if (method !== 'GetPayment' && !idempotencyKey) {
          throw new Refusal(status.INVALID_ARGUMENT, 'idempotency-key metadata is required');
        }
        callback(null, answer(call.request, idempotencyKey));
      } catch (error) {
        if (!(error instanceof Refusal)) throw error;
        callback({ code: error.code, details: error.details });
      }
    };
  }

  private createPayment(request: Record<string, unknown>): Payment {
    const existing = [...this.payments.values()].find((p) => p.orderId === request.orderId);
    if (existing) return existing;
    const id = randomUUID();
    const intent = `pi_fake${id.replaceAll('-', '').slice(0, 16)}`;
    const now = timestamp();
    const payment: Payment = {
      id,
      orderId: request.orderId as string,
      customerId: request.customerId as string,
      status: PaymentStatus.PAYMENT_STATUS_REQUIRES_PAYMENT_METHOD,
      amount: request.amount as Money,
      clientSecret: `${intent}_secret_fake`,
      providerPaymentId: intent,
      createTime: now,
      updateTime: now,
      amountRefunded: '0',
      failureCode: '',
      failureMessage: '',
      receiptUrl: '',
      disputed: false,
      version: '1',
    };
    this.payments.set(id, payment);
    return payment;
  }

  private find(paymentId: string): Payment {
    const payment = this.payments.get(paymentId);
    if (!payment) throw new Refusal(status.NOT_FOUND, `payment ${paymentId} not found`);
    return payment;
  }

  private cancel(paymentId: string): Payment {
    const payment = this.find(paymentId);
    if (payment.status === PaymentStatus.PAYMENT_STATUS_SUCCEEDED) {
      throw new Refusal(status.FAILED_PRECONDITION, 'the payment succeeded; refund it instead');
    }
    if (payment.status !== PaymentStatus.PAYMENT_STATUS_CANCELED) {
      payment.status = PaymentStatus.PAYMENT_STATUS_CANCELED;
      this.bump(payment);
    }
    return payment;
  }

  private refund(
    request: Record<string, unknown>,
    key: string,
  ): { refund: Refund; payment: Payment } {
    const earlier = this.refundsByKey.get(key);
    if (earlier) return earlier;
    const payment = this.find(request.paymentId as string);
    if (payment.status !== PaymentStatus.PAYMENT_STATUS_SUCCEEDED) {
      throw new Refusal(status.FAILED_PRECONDITION, 'the payment has not succeeded');
    }
    if (payment.disputed) {
      throw new Refusal(status.FAILED_PRECONDITION, 'a disputed payment cannot be refunded');
    }
    const total = Number(payment.amount!.amount);
    const remaining = total - Number(payment.amountRefunded);
    const asked = (request.amount as Money | null | undefined)?.amount;
    const amount = asked === undefined ? remaining : Number(asked);
    if (amount < 1 || amount > remaining) {
      throw new Refusal(status.FAILED_PRECONDITION, `at most ${remaining} can be refunded`);
    }
    payment.amountRefunded = String(Number(payment.amountRefunded) + amount);
    this.bump(payment);
    const now = timestamp();
    const refund: Refund = {
      id: randomUUID(),
      paymentId: payment.id,
      amount: { amount: String(amount), currency: payment.amount!.currency },
      status: RefundStatus.REFUND_STATUS_SUCCEEDED,
      reason: (request.reason as string | undefined) ?? '',
      providerRefundId: `re_fake${randomUUID().replaceAll('-', '').slice(0, 16)}`,
      failureReason: '',
      createTime: now,
      updateTime: now,
    };
    const answer = { refund, payment: structuredClone(payment) };
    this.refundsByKey.set(key, answer);
    return answer;
  }

  private bump(payment: Payment): void {
    payment.version = String(Number(payment.version) + 1);
    payment.updateTime = timestamp();
  }
}

function timestamp() {
  const millis = Date.now();
  return { seconds: String(Math.floor(millis / 1000)), nanos: (millis % 1000) * 1_000_000 };
}
