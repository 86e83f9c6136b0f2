import { createHmac } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import Stripe from 'stripe';
import { StripeSignatures } from './stripe-signature.js';

const stripe = new Stripe('sk_test_signatures');
const SECRET = 'whsec_current_0123456789';
const OLD_SECRET = 'whsec_previous_0123456789';
const NOW = 1_800_000_000;
const payload = JSON.stringify({ id: 'evt_1', object: 'event', note: 'café ✓' });
const header = (options: { secret?: string; timestamp?: number; body?: string } = {}) =>
  stripe.webhooks.generateTestHeaderString({
    payload: options.body ?? payload,
    secret: options.secret ?? SECRET,
    timestamp: options.timestamp ?? NOW,
  });

describe(StripeSignatures.name, () => {
  const signatures = new StripeSignatures([SECRET, OLD_SECRET], 300);
  const body = Buffer.from(payload);

  it("accepts what Stripe's SDK signs, with either configured secret", () => {
    expect(signatures.verifies(body, header(), NOW)).toBe(true);
    expect(signatures.verifies(body, header({ secret: OLD_SECRET }), NOW)).toBe(true);
    expect(
      stripe.webhooks.signature!.verifyHeader(body, header(), SECRET, 300, undefined, NOW),
    ).toBe(true);
  });

  it('accepts a header carrying several v1 signatures when one of them verifies', () => {
    const good = header().split(',')[1];
    const withOthers = `t=${NOW},v1=${'a'.repeat(64)},${good},v0=${'b'.repeat(64)}`;
    expect(signatures.verifies(body, withOthers, NOW)).toBe(true);
  });

  it.each([
    ['another body', () => signatures.verifies(Buffer.from(`${payload} `), header(), NOW)],
    ['an unknown secret', () => signatures.verifies(body, header({ secret: 'whsec_x' }), NOW)],
    ['a stale timestamp', () => signatures.verifies(body, header(), NOW + 301)],
    ['a timestamp ahead', () => signatures.verifies(body, header(), NOW - 301)],
    [
      'the signature of another timestamp',
      () => signatures.verifies(body, header().replace(`t=${NOW}`, `t=${NOW + 1}`), NOW),
    ],
    ['only a v0 signature', () => signatures.verifies(body, header().replace('v1=', 'v0='), NOW)],
    ['no timestamp', () => signatures.verifies(body, header().split(',')[1], NOW)],
    ['a truncated signature', () => signatures.verifies(body, header().slice(0, -2), NOW)],
    ['an empty header', () => signatures.verifies(body, '', NOW)],
  ])('refuses %s', (_name, verify) => {
    expect(verify()).toBe(false);
  });

  it('verifies the bytes as sent, not a decoding of them', () => {
    // Not UTF-8: a decoder would turn the byte into U+FFFD and hash something else.
    const bytes = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff]), Buffer.from('"}')]);
    const v1 = createHmac('sha256', SECRET).update(`${NOW}.`).update(bytes).digest('hex');
    expect(signatures.verifies(bytes, `t=${NOW},v1=${v1}`, NOW)).toBe(true);
  });
});
