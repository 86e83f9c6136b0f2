import { describe, expect, it } from '@jest/globals';
import { orderTotal } from './order-total.js';

describe(orderTotal.name, () => {
  it('sums quantity times unit amount over the lines', () => {
    expect(
      orderTotal([
        { quantity: 2, unitAmount: 1500 },
        { quantity: 1, unitAmount: 899 },
      ]),
    ).toBe(3899);
  });

  it('is exact at the largest order the API accepts', () => {
    const lines = Array.from({ length: 100 }, () => ({
      quantity: 1000,
      unitAmount: 1_000_000_000,
    }));
    expect(orderTotal(lines)).toBe(100_000_000_000_000);
    expect(Number.isSafeInteger(orderTotal(lines))).toBe(true);
  });

  it('is zero for no lines', () => {
    expect(orderTotal([])).toBe(0);
  });
});
