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

  it('requires a real JWT secret in production', () => {
    expect(() => loadOrdersConfig({ ...base, NODE_ENV: 'production' })).toThrow(/JWT_SECRET/);
    expect(() => loadOrdersConfig({ ...base, JWT_SECRET: 'short' })).toThrow(/JWT_SECRET/);
  });
});
