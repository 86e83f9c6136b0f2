import { describe, expect, it } from '@jest/globals';
import { ServiceProcess } from './support/service-process.js';

/**
 * A service refusing its configuration, as an operator sees it: the process stops with EX_CONFIG
 * and a message naming the variable, and never prints the secret it was given.
 */
describe('configuration errors (separate processes)', () => {
  it('names a malformed Stripe key without printing it', async () => {
    const key = 'sk_live_0123456789abcdef-pasted-with-a-typo!';
    const { code, output } = await ServiceProcess.runToExit('payments', {
      NODE_ENV: 'production',
      PAYMENTS_DATABASE_URL: 'postgres://127.0.0.1:1/payments',
      STRIPE_SECRET_KEY: key,
      STRIPE_WEBHOOK_SECRET: 'whsec_0123456789abcdef0123456789',
    });
    expect(code).toBe(78);
    expect(output).toMatch(/STRIPE_SECRET_KEY: must be a Stripe secret or restricted key/);
    expect(output).not.toContain(key);
    expect(output).not.toContain('pasted-with-a-typo');
  });

  it('names an internal API key that is too short without printing it', async () => {
    const apiKey = 'short-internal-key';
    const { code, output } = await ServiceProcess.runToExit('orders', {
      NODE_ENV: 'production',
      ORDERS_DATABASE_URL: 'postgres://127.0.0.1:1/orders',
      JWT_SECRET: 'a-production-jwt-secret-0123456789abcdef',
      INTERNAL_API_KEY: apiKey,
    });
    expect(code).toBe(78);
    expect(output).toMatch(/INTERNAL_API_KEY: must be at least 32 characters/);
    expect(output).not.toContain(apiKey);
  });
});
