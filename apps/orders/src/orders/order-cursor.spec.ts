import { describe, expect, it } from '@jest/globals';
import { decodeCursor, encodeCursor } from './order-cursor.js';

describe('order cursor', () => {
  it('round-trips the position', () => {
    const position = {
      createdAt: new Date('2026-11-22T01:02:03.456Z'),
      id: '0b9f7a3e-6d0e-4c3a-9a56-0a4b1f0c2d3e',
    };
    expect(decodeCursor(encodeCursor(position))).toEqual(position);
  });

  it.each([
    ['garbage'],
    [''],
    [Buffer.from('123.not-a-uuid').toString('base64url')],
    [Buffer.from('x.0b9f7a3e-6d0e-4c3a-9a56-0a4b1f0c2d3e').toString('base64url')],
  ])('refuses %j with a validation error', (cursor) => {
    expect(() => decodeCursor(cursor)).toThrow(
      expect.objectContaining({ code: 'validation_failed' }),
    );
  });
});
