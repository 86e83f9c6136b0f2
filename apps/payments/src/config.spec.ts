import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '#common/config/config.js';
import { DEV_WEBHOOK_SECRET, STAND_IN_STRIPE_KEY } from '#common/config/defaults.js';
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

  it('parks a notification after 5 permanent refusals unless told otherwise, up to 100', () => {
    expect(loadPaymentsConfig(base).outbox.maxAttempts).toBe(5);
    expect(loadPaymentsConfig({ ...base, OUTBOX_MAX_ATTEMPTS: '1' }).outbox.maxAttempts).toBe(1);
    for (const value of ['0', '2.5', 'many', '101']) {
      expect(() => loadPaymentsConfig({ ...base, OUTBOX_MAX_ATTEMPTS: value })).toThrow(
        /OUTBOX_MAX_ATTEMPTS: must/,
      );
    }
  });

  it('refuses a malformed Stripe key without echoing it', () => {
    expect(() => loadPaymentsConfig({ ...base, STRIPE_SECRET_KEY: 'pk_live_oops' })).toThrow(
      /STRIPE_SECRET_KEY: must be a Stripe secret/,
    );
  });

  describe('in production', () => {
    const production = {
      ...base,
      NODE_ENV: 'production',
      STRIPE_SECRET_KEY: 'sk_live_0123456789abcdef',
      STRIPE_WEBHOOK_SECRET: 'whsec_0123456789abcdef0123456789',
      PAYMENTS_GRPC_INBOUND_TOKENS: 'orders=a-production-orders-to-payments-token-0123',
      ORDERS_GRPC_TOKEN: 'a-production-payments-to-orders-token-0123',
    };

    it('accepts a real key and webhook secret and the real Stripe API', () => {
      const config = loadPaymentsConfig(production);
      expect(config.stripe.apiUrl).toBeUndefined();
      expect(config.stripe.secretKey).toBe(production.STRIPE_SECRET_KEY);
    });

    it("refuses the stand-in's key, naming the variable", () => {
      expect(() =>
        loadPaymentsConfig({ ...production, STRIPE_SECRET_KEY: STAND_IN_STRIPE_KEY }),
      ).toThrow(/STRIPE_SECRET_KEY: is the offline stand-in's public key/);
    });

    it('refuses the development webhook secret, even beside another one', () => {
      const secrets = `${production.STRIPE_WEBHOOK_SECRET},${DEV_WEBHOOK_SECRET}`;
      const error = configError(() =>
        loadPaymentsConfig({ ...production, STRIPE_WEBHOOK_SECRET: secrets }),
      );
      expect(error.message).toMatch(/STRIPE_WEBHOOK_SECRET: includes the public development/);
      expect(error.message).not.toContain(DEV_WEBHOOK_SECRET);
    });

    it('refuses a plain-HTTP Stripe API URL unless explicitly allowed', () => {
      const standIn = { ...production, STRIPE_API_URL: 'http://127.0.0.1:12111' };
      expect(() => loadPaymentsConfig(standIn)).toThrow(/STRIPE_API_URL: must be an https/);
      const allowed = loadPaymentsConfig({ ...standIn, STRIPE_ALLOW_INSECURE_API_URL: 'true' });
      expect(allowed.stripe.apiUrl?.href).toBe('http://127.0.0.1:12111/');
      const proxy = { ...production, STRIPE_API_URL: 'https://stripe-proxy.internal' };
      expect(loadPaymentsConfig(proxy).stripe.apiUrl?.host).toBe('stripe-proxy.internal');
    });

    it('waits 5 s for load balancers before closing its servers, unless told otherwise', () => {
      expect(loadPaymentsConfig(production).shutdown).toEqual({
        drainDelayMs: 5000,
        graceMs: 10000,
      });
      expect(loadPaymentsConfig(base).shutdown.drainDelayMs).toBe(0);
      const tuned = { ...production, SHUTDOWN_DRAIN_DELAY_MS: '0', SHUTDOWN_GRACE_MS: '30000' };
      expect(loadPaymentsConfig(tuned).shutdown).toEqual({ drainDelayMs: 0, graceMs: 30000 });
    });
  });

  it('migrates on start unless PAYMENTS_MIGRATE_ON_START is false, and refuses other values', () => {
    expect(loadPaymentsConfig(base).database.migrateOnStart).toBe(true);
    const off = loadPaymentsConfig({ ...base, PAYMENTS_MIGRATE_ON_START: 'false' });
    expect(off.database.migrateOnStart).toBe(false);
    expect(() => loadPaymentsConfig({ ...base, PAYMENTS_MIGRATE_ON_START: 'TRUE' })).toThrow(
      'PAYMENTS_MIGRATE_ON_START: must be true or false',
    );
  });

  it('bounds its HTTP server, refusing a headers timeout longer than the request timeout', () => {
    expect(loadPaymentsConfig({ ...base, HTTP_MAX_CONNECTIONS: '500' }).httpLimits).toMatchObject({
      requestTimeoutMs: 30_000,
      headersTimeoutMs: 15_000,
      keepAliveTimeoutMs: 65_000,
      maxConnections: 500,
    });
    const error = configError(() =>
      loadPaymentsConfig({ ...base, HTTP_HEADERS_TIMEOUT_MS: '40000', HTTP_MAX_CONNECTIONS: '0' }),
    );
    expect(error.problems).toEqual([
      'HTTP_MAX_CONNECTIONS: must be positive',
      'HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS (the request includes its headers)',
    ]);
  });

  it('never repeats a malformed secret in its error', () => {
    const key = 'sk_live_0123456789abcdef-with-a-typo!';
    const secret = 'not-a-webhook-secret-0123456789';
    const error = configError(() =>
      loadPaymentsConfig({ ...base, STRIPE_SECRET_KEY: key, STRIPE_WEBHOOK_SECRET: secret }),
    );
    expect(error.problems.map((problem) => problem.split(':')[0])).toEqual([
      'STRIPE_SECRET_KEY',
      'STRIPE_WEBHOOK_SECRET',
    ]);
    expect(error.message).not.toContain(key);
    expect(error.message).not.toContain(secret);
  });
});

function configError(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}
