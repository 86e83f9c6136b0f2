import { describe, expect, it } from '@jest/globals';
import { chargeAmountProblem, MAX_CHARGE_AMOUNT, parseCurrency } from './money.js';

describe('money', () => {
  it('accepts supported currencies in any case and returns them lowercase', () => {
    expect(parseCurrency('USD')).toBe('usd');
    expect(parseCurrency('jpy')).toBe('jpy');
    expect(parseCurrency('xyz')).toBeUndefined();
    expect(parseCurrency('toString')).toBeUndefined();
  });

  it('bounds a charge by the currency minimum and Stripe maximum', () => {
    expect(chargeAmountProblem(50, 'usd')).toBeUndefined();
    expect(chargeAmountProblem(49, 'usd')).toMatch(/at least 50/);
    expect(chargeAmountProblem(MAX_CHARGE_AMOUNT, 'usd')).toBeUndefined();
    expect(chargeAmountProblem(MAX_CHARGE_AMOUNT + 1, 'usd')).toMatch(/at most/);
    expect(chargeAmountProblem(10.5, 'usd')).toMatch(/integer/);
    expect(chargeAmountProblem(Number.NaN, 'usd')).toMatch(/integer/);
  });
});
