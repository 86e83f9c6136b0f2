import { describe, expect, it } from '@jest/globals';
import { REFUND_HOLDING_STATES, type RefundState } from './refund.entity.js';
import {
  canRefundTransition,
  isFinalRefundState,
  nextRefundState,
  REFUND_TRANSITIONS,
} from './refund-state.js';

const STATES = Object.keys(REFUND_TRANSITIONS) as RefundState[];

describe('refund state transitions', () => {
  it.each([
    ['creating', 'pending'],
    ['creating', 'succeeded'],
    ['creating', 'failed'],
    ['pending', 'requires_action'],
    ['requires_action', 'succeeded'],
    ['pending', 'canceled'],
    // The customer's bank may return a refund Stripe had reported succeeded.
    ['succeeded', 'failed'],
  ] as [RefundState, RefundState][])('allows %s -> %s', (from, to) => {
    expect(canRefundTransition(from, to)).toBe(true);
  });

  it('keeps failed and canceled final', () => {
    expect(STATES.filter(isFinalRefundState)).toEqual(['failed', 'canceled']);
    for (const to of STATES) {
      if (to !== 'failed') expect(canRefundTransition('failed', to)).toBe(false);
      if (to !== 'canceled') expect(canRefundTransition('canceled', to)).toBe(false);
    }
  });

  it('never goes back to creating', () => {
    for (const from of STATES) {
      expect(canRefundTransition(from, 'creating')).toBe(from === 'creating');
    }
  });

  it('treats a repeated state as a no-op', () => {
    for (const state of STATES) expect(canRefundTransition(state, state)).toBe(true);
  });

  it('counts exactly the states that are not final as holding part of the payment', () => {
    expect([...REFUND_HOLDING_STATES].sort()).toEqual(
      STATES.filter((state) => !isFinalRefundState(state)).sort(),
    );
  });

  describe(nextRefundState.name, () => {
    it('takes what Stripe reports of a refund in progress', () => {
      expect(nextRefundState('creating', 'pending')).toBe('pending');
      expect(nextRefundState('pending', 'succeeded')).toBe('succeeded');
      expect(nextRefundState('succeeded', 'failed')).toBe('failed');
    });

    it('keeps a final refund as it is, whatever a later report says', () => {
      expect(nextRefundState('failed', 'succeeded')).toBe('failed');
      expect(nextRefundState('canceled', 'pending')).toBe('canceled');
    });
  });
});
