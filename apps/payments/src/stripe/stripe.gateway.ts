import { Inject, Injectable, Logger } from '@nestjs/common';
import Stripe from 'stripe';
import { DomainError } from '#common/errors.js';
import { annotate } from '#observability/spans.js';
import { PAYMENTS_CONFIG, type PaymentsConfig } from '../config.js';

export interface CreatePaymentIntentInput {
  amount: number;
  currency: string;
  metadata: Record<string, string>;
  /** Deterministic per operation, so a retry after a crash finds the first attempt's result. */
  idempotencyKey: string;
}

/**
 * The one place that talks to Stripe. Stripe's errors become our error codes here: what the caller
 * can fix is a precondition failure, what may pass is `unavailable`, the rest is internal.
 */
@Injectable()
export class StripeGateway {
  private readonly logger = new Logger(StripeGateway.name);
  private readonly stripe: Stripe;

  constructor(@Inject(PAYMENTS_CONFIG) config: PaymentsConfig) {
    const { secretKey, apiUrl, timeoutMs, maxNetworkRetries } = config.stripe;
    this.stripe = new Stripe(secretKey, {
      timeout: timeoutMs,
      maxNetworkRetries,
      appInfo: { name: 'orders-payments/payments' },
      ...(apiUrl && {
        host: apiUrl.hostname,
        port: Number(apiUrl.port || (apiUrl.protocol === 'https:' ? 443 : 80)),
        protocol: apiUrl.protocol === 'https:' ? 'https' : 'http',
      }),
    });
  }

  async createPaymentIntent(input: CreatePaymentIntentInput): Promise<Stripe.PaymentIntent> {
    try {
      const intent = await this.stripe.paymentIntents.create(
        {
          amount: input.amount,
          currency: input.currency,
          metadata: input.metadata,
          automatic_payment_methods: { enabled: true },
        },
        { idempotencyKey: input.idempotencyKey },
      );
      annotate({
        'stripe.request_id': intent.lastResponse.requestId,
        'stripe.payment_intent': intent.id,
      });
      return intent;
    } catch (error) {
      throw this.translate(error, 'create a PaymentIntent');
    }
  }

  async retrievePaymentIntent(id: string): Promise<Stripe.PaymentIntent> {
    try {
      return await this.stripe.paymentIntents.retrieve(id, { expand: ['latest_charge'] });
    } catch (error) {
      throw this.translate(error, 'read a PaymentIntent');
    }
  }

  async cancelPaymentIntent(id: string, idempotencyKey: string): Promise<Stripe.PaymentIntent> {
    try {
      return await this.stripe.paymentIntents.cancel(id, {}, { idempotencyKey });
    } catch (error) {
      throw this.translate(error, 'cancel the PaymentIntent');
    }
  }

  async createRefund(input: {
    paymentIntentId: string;
    amount: number;
    reason?: Stripe.RefundCreateParams.Reason;
    metadata: Record<string, string>;
    idempotencyKey: string;
  }): Promise<Stripe.Refund> {
    try {
      return await this.stripe.refunds.create(
        {
          payment_intent: input.paymentIntentId,
          amount: input.amount,
          ...(input.reason && { reason: input.reason }),
          metadata: input.metadata,
        },
        { idempotencyKey: input.idempotencyKey },
      );
    } catch (error) {
      throw this.translate(error, 'create the refund');
    }
  }

  private translate(error: unknown, action: string): DomainError {
    if (!(error instanceof Stripe.errors.StripeError)) {
      this.logger.error(`Stripe call failed to ${action}`, (error as Error)?.stack);
      return new DomainError('internal', `Could not ${action}.`);
    }
    const context = `Stripe could not ${action} (${error.type}, request ${error.requestId ?? 'n/a'})`;
    annotate({ 'stripe.request_id': error.requestId ?? '', 'stripe.error_type': error.type });
    switch (error.type) {
      case 'StripeCardError':
      case 'StripeInvalidRequestError':
        this.logger.warn(`${context}: ${error.message}`);
        return new DomainError(
          'precondition_failed',
          `Stripe rejected the payment: ${error.message}`,
        );
      case 'StripeConnectionError':
      case 'StripeAPIError':
      case 'StripeRateLimitError':
        this.logger.warn(`${context}: ${error.message}`);
        return new DomainError('unavailable', 'The payment provider is unavailable; retry later.');
      case 'StripeIdempotencyError':
        // 409: a concurrent attempt holds the key, so a retry will see its result. Anything else
        // means we sent different parameters under one key: a bug, never to be retried blindly.
        if (error.statusCode === 409) {
          return new DomainError('unavailable', 'The payment is being created; retry shortly.');
        }
        this.logger.error(`${context}: ${error.message}`);
        return new DomainError('internal', `Could not ${action}.`);
      default:
        this.logger.error(`${context}: ${error.message}`);
        return new DomainError('internal', 'The payment provider refused our credentials.');
    }
  }
}
