import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { DomainError } from './errors.js';
import { fieldPath, parseOrThrow } from './validation.js';

describe('validation', () => {
  it('writes paths as clients do', () => {
    expect(fieldPath(['items', 0, 'quantity'])).toBe('items[0].quantity');
    expect(fieldPath(['currency'])).toBe('currency');
    expect(fieldPath([])).toBe('(body)');
  });

  it('reports every failing field at once', () => {
    const schema = z.object({ a: z.number(), b: z.array(z.string()) });
    let caught: unknown;
    try {
      parseOrThrow(schema, { a: 'x', b: ['ok', 1] });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DomainError);
    expect((caught as DomainError).code).toBe('validation_failed');
    expect((caught as DomainError).fields.map((f) => f.field)).toEqual(['a', 'b[1]']);
  });

  it('names each field a strict object does not accept', () => {
    const schema = z.strictObject({ items: z.array(z.strictObject({ sku: z.string() })) });
    expect(() => parseOrThrow(schema, { total: 1, items: [{ sku: 'a', price: 2 }] })).toThrow(
      expect.objectContaining({
        fields: expect.arrayContaining([
          { field: 'total', message: 'is not an accepted field' },
          { field: 'items[0].price', message: 'is not an accepted field' },
        ]),
      }),
    );
  });
});
