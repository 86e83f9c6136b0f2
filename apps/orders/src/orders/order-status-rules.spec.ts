import { describe, expect, it } from '@jest/globals';
import {
  CANCEL_RULES,
  canTransition,
  ORDER_STATUSES,
  type OrderStatus,
  REFUND_RULES,
} from './order-status.js';

// The cancel and refund rules by status, and how they agree with the lifecycle they live beside.

const byRule = <R extends string>(rules: Readonly<Record<OrderStatus, R>>, rule: R) =>
  ORDER_STATUSES.filter((status) => rules[status] === rule);

describe('CANCEL_RULES', () => {
  it('cancels only an unpaid order that has its payment', () => {
    expect(byRule(CANCEL_RULES, 'cancelable')).toEqual(['awaiting_payment', 'payment_failed']);
  });

  it('obtains the payment of an order still pending_payment before deciding', () => {
    expect(byRule(CANCEL_RULES, 'obtain_payment_first')).toEqual(['pending_payment']);
  });

  it('leaves a canceled order as it is', () => {
    expect(byRule(CANCEL_RULES, 'canceled_already')).toEqual(['canceled']);
  });

  it('sends every order that was paid to a refund instead', () => {
    expect(byRule(CANCEL_RULES, 'paid_needs_refund')).toEqual([
      'paid',
      'partially_refunded',
      'disputed',
    ]);
    expect(byRule(CANCEL_RULES, 'refunded_already')).toEqual(['refunded']);
  });

  it.each(ORDER_STATUSES.map((status) => [status]))(
    'agrees with the lifecycle: %s may become canceled exactly when a cancel may act on it',
    (status) => {
      const acts = ['cancelable', 'obtain_payment_first', 'canceled_already'].includes(
        CANCEL_RULES[status],
      );
      expect(canTransition(status, 'canceled')).toBe(acts);
    },
  );
});

describe('REFUND_RULES', () => {
  it('refunds a paid order with money left on it', () => {
    expect(byRule(REFUND_RULES, 'refundable')).toEqual(['paid', 'partially_refunded']);
  });

  it('refuses a disputed order and one refunded in full', () => {
    expect(byRule(REFUND_RULES, 'disputed')).toEqual(['disputed']);
    expect(byRule(REFUND_RULES, 'refunded_already')).toEqual(['refunded']);
  });

  it('has nothing to refund on an order that was never paid', () => {
    expect(byRule(REFUND_RULES, 'not_paid')).toEqual([
      'pending_payment',
      'awaiting_payment',
      'payment_failed',
      'canceled',
    ]);
  });

  it.each(ORDER_STATUSES.map((status) => [status]))(
    'agrees with the lifecycle: %s can end refunded exactly when it was paid',
    (status) => {
      expect(canTransition(status, 'refunded')).toBe(REFUND_RULES[status] !== 'not_paid');
    },
  );

  it('never calls an order cancelable and refundable at once', () => {
    for (const status of ORDER_STATUSES) {
      expect(CANCEL_RULES[status] === 'cancelable' && REFUND_RULES[status] === 'refundable').toBe(
        false,
      );
    }
  });
});
