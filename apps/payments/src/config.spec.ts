import { describe, expect, it } from '@jest/globals';
import { loadPaymentsConfig } from './config.js';

const base = { PAYMENTS_DATABASE_URL: 'postgres://localhost:5432/payments' };

describe(loadPaymentsConfig.name, () => {
  it('uses the offline Stripe stand-in when no secret key is configured', () => {
    const { stripe } = loadPaymentsConfig(base);
    expect(stripe.apiUrl?.href).toBe('http://127.0.0.1:12111/');
    expect(stripe.secretKey).toMatch(/^sk_test_/);
  });

  it('uses the real Stripe API when a secret key is configured', () => {
    const { stripe } = loadPaymentsConfig({ ...base, STRIPE_SECRET_KEY: 'sk_test_abc123' });
    expect(stripe.apiUrl).toBeUndefined();
    expect(stripe.secretKey).toBe('sk_test_abc123');
  });

  it('refuses to run in production without a Stripe key, naming it', () => {
    expect(() => loadPaymentsConfig({ ...base, NODE_ENV: 'production' })).toThrow(
      /STRIPE_SECRET_KEY/,
    );
  });

  it('refuses a malformed Stripe key without echoing it', () => {
    expect(() => loadPaymentsConfig({ ...base, STRIPE_SECRET_KEY: 'pk_live_oops' })).toThrow(
      /STRIPE_SECRET_KEY: must be a Stripe secret/,
    );
  });
});
