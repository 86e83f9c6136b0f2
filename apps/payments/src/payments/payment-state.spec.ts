import { describe, expect, it } from '@jest/globals';
import {
  canPaymentTransition,
  PAYMENT_STATES,
  PAYMENT_TRANSITIONS,
  type PaymentState,
} from './payment-state.js';

describe('payment state transitions', () => {
  it.each([
    ['creating', 'requires_payment_method'],
    ['requires_payment_method', 'processing'],
    ['requires_payment_method', 'succeeded'],
    ['requires_action', 'requires_payment_method'],
    ['processing', 'succeeded'],
    ['processing', 'requires_payment_method'],
    ['requires_capture', 'succeeded'],
    ['requires_payment_method', 'canceled'],
  ] as [PaymentState, PaymentState][])('allows %s -> %s', (from, to) => {
    expect(canPaymentTransition(from, to)).toBe(true);
  });

  it('keeps succeeded and canceled terminal', () => {
    for (const to of PAYMENT_STATES) {
      if (to !== 'succeeded') expect(canPaymentTransition('succeeded', to)).toBe(false);
      if (to !== 'canceled') expect(canPaymentTransition('canceled', to)).toBe(false);
    }
  });

  it('does not let an older processing undo a success', () => {
    expect(canPaymentTransition('succeeded', 'processing')).toBe(false);
  });

  it('lets a failed attempt be followed by a success', () => {
    expect(canPaymentTransition('requires_payment_method', 'succeeded')).toBe(true);
  });

  it('never goes back to creating', () => {
    for (const from of PAYMENT_STATES) {
      if (from !== 'creating') expect(PAYMENT_TRANSITIONS[from]).not.toContain('creating');
    }
  });

  it('treats a repeated state as a no-op', () => {
    for (const state of PAYMENT_STATES) expect(canPaymentTransition(state, state)).toBe(true);
  });
});
