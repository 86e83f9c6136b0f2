import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '#common/config.js';
import { DEV_JWT_SECRET } from '#common/defaults.js';
import { loadOrdersConfig } from './config.js';

const base = { ORDERS_DATABASE_URL: 'postgres://localhost:5432/orders' };

describe(loadOrdersConfig.name, () => {
  it('applies the documented defaults', () => {
    const config = loadOrdersConfig(base);
    expect(config.http.port).toBe(3000);
    expect(config.grpc.port).toBe(50052);
    expect(config.payments.url).toBe('127.0.0.1:50051');
    expect(config.jwt.secret).toBe(DEV_JWT_SECRET);
    expect(config.internalApiKey).toBeUndefined();
    expect(config.reconciliation).toEqual({ intervalMs: 60_000, afterMs: 900_000, batchSize: 50 });
  });

  it('names every missing or malformed variable', () => {
    let caught: unknown;
    try {
      loadOrdersConfig({ ORDERS_HTTP_PORT: 'eighty', PAYMENTS_GRPC_URL: 'payments' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const message = (caught as ConfigError).message;
    expect(message).toContain('ORDERS_DATABASE_URL');
    expect(message).toContain('ORDERS_HTTP_PORT');
    expect(message).toContain('PAYMENTS_GRPC_URL');
  });

  it('runs in production without INTERNAL_API_KEY (the internal push stays closed)', () => {
    const config = loadOrdersConfig({
      ...base,
      NODE_ENV: 'production',
      JWT_SECRET: 'a-production-jwt-secret-0123456789abcdef',
    });
    expect(config.internalApiKey).toBeUndefined();
    expect(config.shutdown).toEqual({ drainDelayMs: 5000, graceMs: 10000 });
  });

  it('requires a real JWT secret in production', () => {
    expect(() => loadOrdersConfig({ ...base, NODE_ENV: 'production' })).toThrow(/JWT_SECRET/);
    expect(() => loadOrdersConfig({ ...base, JWT_SECRET: 'short' })).toThrow(/JWT_SECRET/);
  });

  it('refuses an internal API key shorter than 32 characters', () => {
    expect(() => loadOrdersConfig({ ...base, INTERNAL_API_KEY: 'x'.repeat(31) })).toThrow(
      /INTERNAL_API_KEY/,
    );
    expect(loadOrdersConfig({ ...base, INTERNAL_API_KEY: 'x'.repeat(32) }).internalApiKey).toBe(
      'x'.repeat(32),
    );
  });

  it('refuses reconciliation settings that are not positive integers', () => {
    let caught: unknown;
    try {
      loadOrdersConfig({
        ...base,
        RECONCILE_INTERVAL_MS: '0',
        RECONCILE_AFTER_MS: 'soon',
        RECONCILE_BATCH_SIZE: '5000',
      });
    } catch (error) {
      caught = error;
    }
    const message = (caught as ConfigError).message;
    expect(message).toContain('RECONCILE_INTERVAL_MS');
    expect(message).toContain('RECONCILE_AFTER_MS');
    expect(message).toContain('RECONCILE_BATCH_SIZE');
  });
});
