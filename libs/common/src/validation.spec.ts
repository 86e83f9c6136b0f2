import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { DomainError } from './errors.js';
import {
  fieldPath,
  hasUnsafeCharacters,
  MAX_FIELD_ERRORS,
  parseOrThrow,
  plainText,
} from './validation.js';

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

describe('plainText', () => {
  const schema = plainText({ max: 20 });

  it('accepts letters of any script, punctuation and emoji', () => {
    for (const text of [
      'T-shirt',
      'Mug “Café”',
      'Кружка',
      'マグカップ',
      'Tasse 😀',
      'a b\u00A0c',
    ]) {
      expect(schema.safeParse(text).success).toBe(true);
    }
  });

  it.each([
    ['NUL', 'a\u0000b'],
    ['a C0 control', 'a\u001Bb'],
    ['DEL', 'a\u007Fb'],
    ['a C1 control', 'a\u0085b'],
    ['a right-to-left override', 'abc\u202Edef'],
    ['a left-to-right embedding', '\u202Aabc'],
    ['a first-strong isolate', 'abc\u2068def\u2069'],
    ['a zero-width space', 'ab\u200Bc'],
    ['a zero-width joiner', 'ab\u200Dc'],
    ['a word joiner', 'ab\u2060c'],
    ['a byte order mark', '\uFEFFabc'],
    ['a line separator', 'ab\u2028c'],
    ['a lone high surrogate', 'ab\uD800c'],
    ['a lone low surrogate', 'ab\uDC00c'],
  ])('refuses %s', (_name, text) => {
    expect(schema.safeParse(text).success).toBe(false);
    expect(hasUnsafeCharacters(text)).toBe(true);
  });

  it('refuses empty, too long and non-string values', () => {
    for (const value of ['', 'x'.repeat(21), 42, null]) {
      expect(schema.safeParse(value).success).toBe(false);
    }
  });
});

describe('parseOrThrow', () => {
  it(`lists at most ${MAX_FIELD_ERRORS} field errors`, () => {
    const schema = z.array(z.number());
    let caught: unknown;
    try {
      parseOrThrow(
        schema,
        Array.from({ length: 1000 }, () => 'x'),
      );
    } catch (error) {
      caught = error;
    }
    expect((caught as DomainError).fields).toHaveLength(MAX_FIELD_ERRORS);
  });
});
