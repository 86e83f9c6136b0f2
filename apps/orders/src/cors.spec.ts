import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '#common/config/config.js';
import { loadOrdersConfig } from './config.js';

const BASE = { NODE_ENV: 'test', ORDERS_DATABASE_URL: 'postgres://localhost/orders' };

describe('CORS_ORIGINS', () => {
  it('is empty (CORS off) when unset or blank', () => {
    expect(loadOrdersConfig({ ...BASE }).corsOrigins).toEqual([]);
    expect(loadOrdersConfig({ ...BASE, CORS_ORIGINS: ' ' }).corsOrigins).toEqual([]);
  });

  it('reads a comma list of exact origins', () => {
    const config = loadOrdersConfig({
      ...BASE,
      CORS_ORIGINS: 'https://shop.example.com, http://localhost:5173',
    });
    expect(config.corsOrigins).toEqual(['https://shop.example.com', 'http://localhost:5173']);
  });

  it.each([
    '*',
    'https://shop.example.com/',
    'https://*.example.com',
    'shop.example.com',
    'ftp://x.y',
  ])('refuses %s, naming the variable', (value) => {
    expect(() => loadOrdersConfig({ ...BASE, CORS_ORIGINS: value })).toThrow(
      expect.objectContaining({
        constructor: ConfigError,
        message: expect.stringContaining('CORS_ORIGINS'),
      }),
    );
  });
});
