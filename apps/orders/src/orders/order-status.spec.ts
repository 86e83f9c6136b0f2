import { describe, expect, it } from '@jest/globals';
import { canTransition, ORDER_STATUSES, type OrderStatus } from './order-status.js';

describe('order status transitions', () => {
  const allowed: [OrderStatus, OrderStatus][] = [
    ['pending_payment', 'awaiting_payment'],
    ['pending_payment', 'canceled'],
    ['awaiting_payment', 'paid'],
    ['awaiting_payment', 'payment_failed'],
    ['awaiting_payment', 'canceled'],
    ['payment_failed', 'awaiting_payment'],
    ['payment_failed', 'paid'],
    ['payment_failed', 'canceled'],
    ['paid', 'partially_refunded'],
    ['paid', 'refunded'],
    ['paid', 'disputed'],
    ['partially_refunded', 'refunded'],
    ['partially_refunded', 'disputed'],
    ['disputed', 'paid'],
    ['disputed', 'partially_refunded'],
    ['disputed', 'refunded'],
  ];

  it.each(allowed)('allows %s -> %s', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
  });

  const allowedKeys = new Set(allowed.map(([from, to]) => `${from}->${to}`));
  const forbidden = ORDER_STATUSES.flatMap((from) =>
    ORDER_STATUSES.filter((to) => to !== from && !allowedKeys.has(`${from}->${to}`)).map(
      (to) => [from, to] as [OrderStatus, OrderStatus],
    ),
  );

  it.each(forbidden)('refuses %s -> %s', (from, to) => {
    expect(canTransition(from, to)).toBe(false);
  });

  it.each(ORDER_STATUSES.map((s) => [s]))('treats a repeated %s as a no-op', (status) => {
    expect(canTransition(status, status)).toBe(true);
  });

  it('never lets a terminal order move', () => {
    for (const to of ORDER_STATUSES) {
      if (to !== 'canceled') expect(canTransition('canceled', to)).toBe(false);
      if (to !== 'refunded') expect(canTransition('refunded', to)).toBe(false);
    }
  });
});
