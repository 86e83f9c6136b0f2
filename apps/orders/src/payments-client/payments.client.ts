import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { ClientGrpc } from '@nestjs/microservices';
import {
  BrokenCircuitError,
  circuitBreaker,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  handleWhen,
  type IPolicy,
  retry,
  wrap,
} from 'cockatiel';
import { lastValueFrom, type Observable } from 'rxjs';
import { DomainError } from '#common/errors.js';
import { callMetadata, callWithDeadline, type UnaryMethod } from '#common/grpc/channel.js';
import { fromGrpcError, isTransientGrpcError } from '#common/grpc/status.js';
import { timedRpc } from '#observability/rpc-metrics.js';
import { annotate, inSpan, recordEvent, Untraced } from '#observability/spans.js';
import {
  type CancelPaymentRequest,
  type CancelPaymentResponse,
  type CreatePaymentRequest,
  type CreatePaymentResponse,
  type GetPaymentRequest,
  type GetPaymentResponse,
  PAYMENT_SERVICE_NAME,
  type Payment,
  type PaymentServiceClient,
  type ProcessRefundRequest,
  type ProcessRefundResponse,
  type Refund,
} from '#contracts/generated/payments/v1/payments.js';
import { ORDERS_CONFIG, type OrdersConfig } from '../config.js';
import { observeCircuit } from '#observability/business-metrics.js';

export const PAYMENTS_GRPC = Symbol('PAYMENTS_GRPC');

const PAYMENT_SERVICE = 'payments.v1.PaymentService';

export type CircuitName = 'closed' | 'open' | 'half_open';

const CIRCUIT_NAMES: Record<CircuitState, CircuitName> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half_open',
  [CircuitState.Isolated]: 'open',
};

/**
 * The orders side of payments.v1.PaymentService. Each call has a deadline; transient failures
 * (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED) are retried with jittered exponential
 * backoff; a circuit breaker around the whole retried call opens after consecutive transient
 * failures, and while it is open calls fail at once without touching the network. Business
 * errors are neither retried nor counted by the breaker.
 */
@Injectable()
export class PaymentsClient implements OnModuleInit {
  private readonly logger = new Logger(PaymentsClient.name);
  private readonly breaker: CircuitBreakerPolicy;
  private readonly policy: IPolicy;
  private service!: PaymentServiceClient;
  private openedAt = 0;

  constructor(
    @Inject(PAYMENTS_GRPC) private readonly grpc: ClientGrpc,
    @Inject(ORDERS_CONFIG) private readonly config: OrdersConfig,
  ) {
    const { retry: retrySettings, breaker: breakerSettings } = config.payments;
    this.breaker = circuitBreaker(handleWhen(isTransientGrpcError), {
      halfOpenAfter: breakerSettings.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(breakerSettings.threshold),
    });
    const retries = retry(handleWhen(isTransientGrpcError), {
      maxAttempts: retrySettings.maxAttempts - 1,
      backoff: new ExponentialBackoff({
        initialDelay: retrySettings.initialDelayMs,
        maxDelay: retrySettings.maxDelayMs,
      }),
    });
    retries.onRetry(({ delay, attempt }) =>
      this.logger.warn(`payments call failed; retry ${attempt} in ${Math.round(delay)} ms`),
    );
    this.breaker.onBreak(() => {
      recordEvent('circuit.opened', { 'circuit.threshold': breakerSettings.threshold });
      this.openedAt = Date.now();
      this.logger.warn(
        `payments circuit opened after ${breakerSettings.threshold} consecutive failures; ` +
          `next trial in ${breakerSettings.halfOpenAfterMs} ms`,
      );
    });
    this.breaker.onHalfOpen(() => {
      recordEvent('circuit.half_open');
      this.logger.warn('payments circuit half-open: trial call');
    });
    this.breaker.onReset(() => {
      recordEvent('circuit.closed');
      this.logger.log('payments circuit closed');
    });
    this.policy = wrap(this.breaker, retries);
    observeCircuit('payments', () => this.circuit);
  }

  onModuleInit(): void {
    this.service = this.grpc.getService<PaymentServiceClient>(PAYMENT_SERVICE_NAME);
  }

  get circuit(): CircuitName {
    return CIRCUIT_NAMES[this.breaker.state];
  }

  /**
   * Fails at once while the circuit is open and its trial is not due yet, so callers can skip
   * work that would only be wasted.
   */
  assertAvailable(): void {
    const retryAfter = this.secondsUntilTrial();
    if (retryAfter > 0) {
      recordEvent('circuit.rejected', { 'circuit.state': this.circuit });
      annotate({ 'circuit.state': this.circuit });
      throw this.circuitOpen(retryAfter);
    }
  }

  async createPayment(request: CreatePaymentRequest, idempotencyKey: string): Promise<Payment> {
    const response = await this.unary<CreatePaymentRequest, CreatePaymentResponse>(
      'createPayment',
      request,
      idempotencyKey,
    );
    return requirePayment(response.payment);
  }

  /** A read: retried like the others, no key needed. `refresh` asks payments to ask Stripe. */
  async getPayment(paymentId: string, refresh: boolean): Promise<Payment> {
    const response = await this.unary<GetPaymentRequest, GetPaymentResponse>('getPayment', {
      paymentId,
      refresh,
    });
    return requirePayment(response.payment);
  }

  async cancelPayment(paymentId: string, idempotencyKey: string): Promise<Payment> {
    const response = await this.unary<CancelPaymentRequest, CancelPaymentResponse>(
      'cancelPayment',
      { paymentId },
      idempotencyKey,
    );
    return requirePayment(response.payment);
  }

  async processRefund(
    request: ProcessRefundRequest,
    idempotencyKey: string,
  ): Promise<{ refund: Refund; payment: Payment }> {
    const response = await this.unary<ProcessRefundRequest, ProcessRefundResponse>(
      'processRefund',
      request,
      idempotencyKey,
    );
    if (!response.refund) throw new DomainError('internal', 'payments answered without a refund.');
    return { refund: response.refund, payment: requirePayment(response.payment) };
  }

  /**
   * One call through the breaker and retries. Every attempt of a mutating call carries the same
   * idempotency key, which is what makes retrying it safe.
   */
  private unary<Req, Res>(
    method: keyof PaymentServiceClient,
    request: Req,
    idempotencyKey?: string,
  ): Promise<Res> {
    const { token, timeoutMs } = this.config.payments;
    const metadata = callMetadata(token, idempotencyKey);
    const call = (this.service[method] as UnaryMethod<Req, Res>).bind(this.service);
    const rpcMethod = method.charAt(0).toUpperCase() + method.slice(1);
    return this.invoke(rpcMethod, () => callWithDeadline(call, request, metadata, timeoutMs));
  }

  @Untraced()
  private async invoke<T>(method: string, call: () => Observable<T>): Promise<T> {
    try {
      return await this.policy.execute((execution) => {
        // One span per attempt: the gRPC client span of each try hangs under its own.
        const attempt = ((execution as { attempt?: number }).attempt ?? 0) + 1;
        return inSpan(
          'PaymentsClient.attempt',
          { attributes: { 'retry.attempt': attempt, 'circuit.state': this.circuit } },
          () => timedRpc(PAYMENT_SERVICE, method, () => lastValueFrom(call())),
        );
      });
    } catch (error) {
      if (error instanceof BrokenCircuitError) {
        recordEvent('circuit.rejected', { 'circuit.state': this.circuit });
        annotate({ 'circuit.state': this.circuit });
        throw this.circuitOpen(this.secondsUntilTrial());
      }
      throw fromGrpcError(error, 'payments');
    }
  }

  /** 0 when a call may go out; otherwise whole seconds until the breaker lets a trial through. */
  private secondsUntilTrial(): number {
    const state = this.breaker.state;
    if (state === CircuitState.Closed) return 0;
    if (state === CircuitState.HalfOpen) return 1;
    const due = this.openedAt + this.config.payments.breaker.halfOpenAfterMs - Date.now();
    return due > 0 ? Math.ceil(due / 1000) : 0;
  }

  private circuitOpen(retryAfterSeconds: number): DomainError {
    return new DomainError(
      'unavailable',
      'The payments service is unavailable (circuit open); retry later.',
      [],
      { retryAfterSeconds: Math.max(1, retryAfterSeconds) },
    );
  }
}

function requirePayment(payment: Payment | undefined): Payment {
  if (!payment) throw new DomainError('internal', 'payments answered without a payment.');
  return payment;
}
