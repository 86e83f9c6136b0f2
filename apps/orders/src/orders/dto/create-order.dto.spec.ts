import { describe, expect, it } from '@jest/globals';
import { DomainError } from '#common/errors.js';
import { parseOrThrow } from '#common/validation.js';
import { createOrderSchema, listOrdersQuerySchema } from './create-order.dto.js';

const line = { sku: 'SKU-1', name: 'Shirt', quantity: 1, unitAmount: 1000 };

function fieldsOf(input: unknown): string[] {
  try {
    parseOrThrow(createOrderSchema, input);
  } catch (error) {
    return (error as DomainError).fields.map((f) => f.field);
  }
  return [];
}

describe('createOrderSchema', () => {
  it('accepts a valid order and lowercases the currency', () => {
    expect(parseOrThrow(createOrderSchema, { currency: 'EUR', items: [line] })).toEqual({
      currency: 'eur',
      items: [line],
    });
  });

  it('accepts the bounds: 100 lines, quantity 1000, total at Stripe maximum', () => {
    const items = Array.from({ length: 100 }, () => ({ ...line, quantity: 1000, unitAmount: 999 }));
    expect(() => parseOrThrow(createOrderSchema, { currency: 'usd', items })).not.toThrow();
    const atMaximum = [{ ...line, quantity: 1, unitAmount: 99_999_999 }];
    expect(() =>
      parseOrThrow(createOrderSchema, { currency: 'usd', items: atMaximum }),
    ).not.toThrow();
  });

  it('refuses a total one minor unit above Stripe maximum', () => {
    const items = [
      { ...line, unitAmount: 99_999_999 },
      { ...line, unitAmount: 1 },
    ];
    expect(fieldsOf({ currency: 'usd', items })).toEqual(['items']);
  });

  it('applies the currency minimum charge (zero-decimal currencies too)', () => {
    expect(fieldsOf({ currency: 'jpy', items: [{ ...line, unitAmount: 49 }] })).toEqual(['items']);
    expect(fieldsOf({ currency: 'jpy', items: [{ ...line, unitAmount: 50 }] })).toEqual([]);
  });

  it.each([
    ['sku with spaces', { ...line, sku: 'a b' }, 'items[0].sku'],
    ['empty name', { ...line, name: '' }, 'items[0].name'],
    ['bidi override in name', { ...line, name: 'abc\u202Edef' }, 'items[0].name'],
    ['quantity as string', { ...line, quantity: '1' }, 'items[0].quantity'],
    ['negative unit amount', { ...line, unitAmount: -1 }, 'items[0].unitAmount'],
    ['unknown field', { ...line, discount: 5 }, 'items[0].discount'],
  ])('refuses %s', (_name, item, field) => {
    expect(fieldsOf({ currency: 'usd', items: [item] })).toContain(field);
  });

  it('refuses more than 100 lines with one error, before looking at each line', () => {
    const items = Array.from({ length: 10_000 }, () => ({}));
    expect(fieldsOf({ currency: 'usd', items })).toEqual(['items']);
  });

  it.each([
    ['zero quantity', { ...line, quantity: 0 }, 'items[0].quantity'],
    ['fractional unit amount', { ...line, unitAmount: 10.5 }, 'items[0].unitAmount'],
    ['unit amount beyond 2^53', { ...line, unitAmount: 2 ** 53 + 2 }, 'items[0].unitAmount'],
    ['infinite quantity', { ...line, quantity: Infinity }, 'items[0].quantity'],
    ['zero-width space in name', { ...line, name: 'Sh\u200Birt' }, 'items[0].name'],
    ['NUL in sku', { ...line, sku: 'SKU\u0000' }, 'items[0].sku'],
  ])('refuses %s', (_name, item, field) => {
    expect(fieldsOf({ currency: 'usd', items: [item] })).toContain(field);
  });

  it('refuses anything that is not an object', () => {
    for (const body of [null, 'order', 42, []]) expect(fieldsOf(body)).toEqual(['(body)']);
  });
});

describe('listOrdersQuerySchema', () => {
  it('defaults to 20 and caps at 100', () => {
    expect(parseOrThrow(listOrdersQuerySchema, {})).toEqual({ limit: 20 });
    expect(parseOrThrow(listOrdersQuerySchema, { limit: '500' })).toEqual({ limit: 100 });
  });

  it('refuses non-positive and non-integer limits', () => {
    for (const limit of ['0', '-1', '2.5', 'ten']) {
      expect(() => parseOrThrow(listOrdersQuerySchema, { limit })).toThrow(DomainError);
    }
  });
});
