import { describe, expect, it } from '@jest/globals';
import { FormDecodeError, decodeForm } from './form.js';

describe('decodeForm', () => {
  it('decodes flat parameters', () => {
    expect(decodeForm('amount=1099&currency=usd')).toEqual({ amount: '1099', currency: 'usd' });
  });

  it('nests bracketed hashes, as the SDK sends metadata', () => {
    expect(
      decodeForm(
        'metadata[order_id]=ord_1&metadata[note]=a+b%20c&automatic_payment_methods[enabled]=true',
      ),
    ).toEqual({
      metadata: { order_id: 'ord_1', note: 'a b c' },
      automatic_payment_methods: { enabled: 'true' },
    });
  });

  it('turns dense indexes into arrays in index order', () => {
    expect(decodeForm('payment_method_types[1]=link&payment_method_types[0]=card')).toEqual({
      payment_method_types: ['card', 'link'],
    });
  });

  it('decodes arrays of hashes and deeper nesting', () => {
    expect(
      decodeForm('items[0][price]=p_1&items[0][qty]=2&items[1][price]=p_2&a[b][c][d]=deep'),
    ).toEqual({
      items: [{ price: 'p_1', qty: '2' }, { price: 'p_2' }],
      a: { b: { c: { d: 'deep' } } },
    });
  });

  it('keeps sparse or non-numeric keys as a hash', () => {
    expect(decodeForm('metadata[7]=x&other[0]=a&other[x]=b')).toEqual({
      metadata: { '7': 'x' },
      other: { '0': 'a', x: 'b' },
    });
  });

  it('appends for empty brackets and accepts percent-encoded brackets', () => {
    expect(decodeForm('expand[]=customer&expand%5B%5D=latest_charge')).toEqual({
      expand: ['customer', 'latest_charge'],
    });
  });

  it('decodes reserved and non-ASCII characters in keys and values', () => {
    const body = `metadata[${encodeURIComponent('k&=')}]=${encodeURIComponent('v=1&x=ü €')}`;
    expect(decodeForm(body)).toEqual({ metadata: { 'k&=': 'v=1&x=ü €' } });
  });

  it('keeps empty values, which Stripe reads as "unset"', () => {
    expect(decodeForm('description=&metadata=')).toEqual({ description: '', metadata: '' });
  });

  it('rejects a parameter sent both as a value and as a hash', () => {
    expect(() => decodeForm('metadata=x&metadata[a]=b')).toThrow(FormDecodeError);
    const error = (() => {
      try {
        decodeForm('a[b][c]=1&a[b]=2');
      } catch (thrown) {
        return thrown;
      }
    })();
    expect(error).toBeInstanceOf(FormDecodeError);
    expect(error).toMatchObject({ param: 'a[b]' });
  });

  it('cannot be used to reach Object.prototype', () => {
    const decoded = decodeForm('__proto__[polluted]=yes&metadata[__proto__]=x');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(Object.keys(decoded)).toEqual(['__proto__', 'metadata']);
  });
});
