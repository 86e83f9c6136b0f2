import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { ConfigError } from '#common/config/config.js';
import { DEV_GRPC_TOKENS } from '#common/config/defaults.js';
import { ServiceTokens } from '#common/grpc/auth.js';
import { loadOrdersConfig } from '../apps/orders/src/config.js';
import { loadPaymentsConfig } from '../apps/payments/src/config.js';
import { TestPki } from './support/certificates.js';

const ordersBase = { ORDERS_DATABASE_URL: 'postgres://localhost:5432/orders' };
const paymentsBase = { PAYMENTS_DATABASE_URL: 'postgres://localhost:5432/payments' };
const ordersProduction = {
  ...ordersBase,
  NODE_ENV: 'production',
  JWT_SECRET: 'a-production-jwt-secret-0123456789abcdef',
};
const paymentsProduction = {
  ...paymentsBase,
  NODE_ENV: 'production',
  STRIPE_SECRET_KEY: 'sk_live_config_spec',
  STRIPE_WEBHOOK_SECRET: 'whsec_config_spec',
};
const ORDERS_TOKEN = 'orders-production-token-0123456789abcdefghij';
const PAYMENTS_TOKEN = 'payments-production-token-0123456789abcdefgh';

/** The ConfigError message of a configuration that must not load. */
function problems(load: () => unknown): string {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

describe('gRPC service tokens (configuration)', () => {
  it('works with zero configuration outside production: each accepts what the other presents', () => {
    const orders = loadOrdersConfig(ordersBase);
    const payments = loadPaymentsConfig(paymentsBase);
    expect(new ServiceTokens(payments.grpcTrust.callers).identify(orders.payments.token)).toBe(
      'orders',
    );
    expect(new ServiceTokens(orders.grpcTrust.callers).identify(payments.orders.token)).toBe(
      'payments',
    );
  });

  it('refuses production without its own tokens, naming each variable', () => {
    const orders = problems(() => loadOrdersConfig(ordersProduction));
    expect(orders).toContain('ORDERS_GRPC_INBOUND_TOKENS: is required in production');
    expect(orders).toContain('PAYMENTS_GRPC_TOKEN: is required in production');
    const payments = problems(() => loadPaymentsConfig(paymentsProduction));
    expect(payments).toContain('PAYMENTS_GRPC_INBOUND_TOKENS: is required in production');
    expect(payments).toContain('ORDERS_GRPC_TOKEN: is required in production');
  });

  it('refuses the development tokens in production, without echoing them', () => {
    const message = problems(() =>
      loadOrdersConfig({
        ...ordersProduction,
        ORDERS_GRPC_INBOUND_TOKENS: `payments=${DEV_GRPC_TOKENS.paymentsToOrders}`,
        PAYMENTS_GRPC_TOKEN: DEV_GRPC_TOKENS.ordersToPayments,
      }),
    );
    expect(message).toContain('ORDERS_GRPC_INBOUND_TOKENS: must not use a development token');
    expect(message).toContain('PAYMENTS_GRPC_TOKEN: must not use a development token');
    expect(message).not.toContain(DEV_GRPC_TOKENS.paymentsToOrders);
    expect(message).not.toContain(DEV_GRPC_TOKENS.ordersToPayments);
  });

  it('loads production tokens of its own', () => {
    const payments = loadPaymentsConfig({
      ...paymentsProduction,
      PAYMENTS_GRPC_INBOUND_TOKENS: `orders=${ORDERS_TOKEN}`,
      ORDERS_GRPC_TOKEN: PAYMENTS_TOKEN,
    });
    expect(payments.grpcTrust.callers).toEqual([{ caller: 'orders', token: ORDERS_TOKEN }]);
    expect(payments.orders.token).toBe(PAYMENTS_TOKEN);
  });

  it('accepts two tokens for one caller during a rotation', () => {
    const next = `${ORDERS_TOKEN}-next`;
    const { grpcTrust } = loadPaymentsConfig({
      ...paymentsBase,
      PAYMENTS_GRPC_INBOUND_TOKENS: `orders=${ORDERS_TOKEN}, orders=${next}`,
    });
    const tokens = new ServiceTokens(grpcTrust.callers);
    expect(tokens.identify(ORDERS_TOKEN)).toBe('orders');
    expect(tokens.identify(next)).toBe('orders');
  });

  it.each([
    ['a token under 32 characters', `orders=${'x'.repeat(31)}`],
    ['an entry without a caller', ORDERS_TOKEN],
    ['an uppercase caller', `Orders=${ORDERS_TOKEN}`],
    ['one token for two callers', `orders=${ORDERS_TOKEN},refunds=${ORDERS_TOKEN}`],
  ])('refuses inbound tokens with %s, without echoing them', (_case, value) => {
    const message = problems(() =>
      loadPaymentsConfig({ ...paymentsBase, PAYMENTS_GRPC_INBOUND_TOKENS: value }),
    );
    expect(message).toContain('PAYMENTS_GRPC_INBOUND_TOKENS');
    expect(message).not.toContain(ORDERS_TOKEN);
  });

  it('refuses an outbound token under 32 characters', () => {
    expect(
      problems(() => loadOrdersConfig({ ...ordersBase, PAYMENTS_GRPC_TOKEN: 'short' })),
    ).toMatch(/PAYMENTS_GRPC_TOKEN: must be at least 32/);
  });
});

describe('gRPC TLS files (configuration)', () => {
  const pki = new TestPki();
  const ca = pki.authority('config spec CA');
  const server = ca.sign('payments', 'server');
  const other = ca.sign('orders', 'server');
  const client = ca.sign('orders', 'client');
  const notPem = join(pki.directory, 'not-a-certificate.pem');
  writeFileSync(notPem, 'secret-looking content that is not PEM');

  afterAll(() => pki.remove());

  it('builds mutual TLS from readable, matching files', () => {
    const payments = loadPaymentsConfig({
      ...paymentsBase,
      PAYMENTS_GRPC_TLS_CERT: server.certPath,
      PAYMENTS_GRPC_TLS_KEY: server.keyPath,
      PAYMENTS_GRPC_TLS_CLIENT_CA: ca.certPath,
    });
    expect(payments.grpcTrust.tls?.cert.toString()).toBe(server.cert);
    expect(payments.grpcTrust.tls?.clientCa?.toString()).toBe(ca.cert);
    const orders = loadOrdersConfig({
      ...ordersBase,
      PAYMENTS_GRPC_TLS_CA: ca.certPath,
      PAYMENTS_GRPC_TLS_CLIENT_CERT: client.certPath,
      PAYMENTS_GRPC_TLS_CLIENT_KEY: client.keyPath,
    });
    expect(orders.payments.tls?.ca.toString()).toBe(ca.cert);
    expect(orders.payments.tls?.cert?.toString()).toBe(client.cert);
  });

  it('stays plaintext without TLS files', () => {
    expect(loadOrdersConfig(ordersBase).grpcTrust.tls).toBeUndefined();
    expect(loadOrdersConfig(ordersBase).payments.tls).toBeUndefined();
  });

  it('names the variable whose file it cannot read', () => {
    expect(
      problems(() =>
        loadOrdersConfig({
          ...ordersBase,
          ORDERS_GRPC_TLS_CERT: join(pki.directory, 'missing.crt'),
          ORDERS_GRPC_TLS_KEY: other.keyPath,
        }),
      ),
    ).toMatch(/ORDERS_GRPC_TLS_CERT: cannot read/);
  });

  it('refuses a file that is not PEM, without echoing its content', () => {
    const message = problems(() =>
      loadOrdersConfig({
        ...ordersBase,
        ORDERS_GRPC_TLS_CERT: other.certPath,
        ORDERS_GRPC_TLS_KEY: notPem,
      }),
    );
    expect(message).toContain('ORDERS_GRPC_TLS_KEY');
    expect(message).toContain('is not a PEM private key');
    expect(message).not.toContain('secret-looking');
  });

  it('refuses a key that does not belong to the certificate', () => {
    expect(
      problems(() =>
        loadOrdersConfig({
          ...ordersBase,
          ORDERS_GRPC_TLS_CERT: other.certPath,
          ORDERS_GRPC_TLS_KEY: server.keyPath,
        }),
      ),
    ).toContain('ORDERS_GRPC_TLS_KEY: is not the private key of ORDERS_GRPC_TLS_CERT');
  });

  it('refuses half a pair, a client CA without TLS, and a client certificate without a CA', () => {
    const message = problems(() =>
      loadOrdersConfig({
        ...ordersBase,
        ORDERS_GRPC_TLS_CLIENT_CA: ca.certPath,
        PAYMENTS_GRPC_TLS_CLIENT_CERT: client.certPath,
      }),
    );
    expect(message).toContain('ORDERS_GRPC_TLS_CLIENT_CA: requires ORDERS_GRPC_TLS_CERT');
    expect(message).toContain('PAYMENTS_GRPC_TLS_CLIENT_KEY: is required with');
    expect(message).toContain('PAYMENTS_GRPC_TLS_CA: is required with');
  });

  it('takes a server name to check the certificates against, only with a CA', () => {
    const orders = loadOrdersConfig({
      ...ordersBase,
      PAYMENTS_GRPC_TLS_CA: ca.certPath,
      PAYMENTS_GRPC_TLS_SERVER_NAME: 'payments.internal',
    });
    expect(orders.payments.tls?.serverName).toBe('payments.internal');
    expect(
      problems(() =>
        loadPaymentsConfig({ ...paymentsBase, ORDERS_GRPC_TLS_SERVER_NAME: 'orders' }),
      ),
    ).toContain('ORDERS_GRPC_TLS_SERVER_NAME: requires ORDERS_GRPC_TLS_CA');
    expect(
      problems(() =>
        loadOrdersConfig({
          ...ordersBase,
          PAYMENTS_GRPC_TLS_CA: ca.certPath,
          PAYMENTS_GRPC_TLS_SERVER_NAME: 'https://payments',
        }),
      ),
    ).toContain('PAYMENTS_GRPC_TLS_SERVER_NAME: must be a DNS name or an IP address');
  });
});

describe('gRPC channels (configuration)', () => {
  it('applies the documented defaults, the same in both services', () => {
    const defaults = {
      lbPolicy: 'round_robin',
      keepaliveTimeMs: 30_000,
      keepaliveTimeoutMs: 10_000,
      maxConnectionAgeMs: 300_000,
      maxConnectionAgeGraceMs: 30_000,
    };
    expect(loadOrdersConfig(ordersBase).grpcChannel).toEqual(defaults);
    expect(loadPaymentsConfig(paymentsBase).grpcChannel).toEqual(defaults);
  });

  it('reads the same variables in both services', () => {
    const env = {
      GRPC_LB_POLICY: 'pick_first',
      GRPC_KEEPALIVE_TIME_MS: '20000',
      GRPC_KEEPALIVE_TIMEOUT_MS: '5000',
      GRPC_MAX_CONNECTION_AGE_MS: '60000',
      GRPC_MAX_CONNECTION_AGE_GRACE_MS: '10000',
    };
    const expected = {
      lbPolicy: 'pick_first',
      keepaliveTimeMs: 20_000,
      keepaliveTimeoutMs: 5000,
      maxConnectionAgeMs: 60_000,
      maxConnectionAgeGraceMs: 10_000,
    };
    expect(loadOrdersConfig({ ...ordersBase, ...env }).grpcChannel).toEqual(expected);
    expect(loadPaymentsConfig({ ...paymentsBase, ...env }).grpcChannel).toEqual(expected);
  });

  it('takes multi-address targets on both hops', () => {
    const list = 'ipv4:10.0.0.5:50051,10.0.0.6:50051';
    expect(loadOrdersConfig({ ...ordersBase, PAYMENTS_GRPC_URL: list }).payments.url).toBe(list);
    expect(loadPaymentsConfig({ ...paymentsBase, ORDERS_GRPC_URL: list }).orders.url).toBe(list);
  });

  it('names every bad value', () => {
    const message = problems(() =>
      loadOrdersConfig({
        ...ordersBase,
        PAYMENTS_GRPC_URL: 'ipv4:payments:50051',
        GRPC_LB_POLICY: 'random',
        GRPC_KEEPALIVE_TIME_MS: '500',
        GRPC_KEEPALIVE_TIMEOUT_MS: '0',
        GRPC_MAX_CONNECTION_AGE_MS: 'forever',
        GRPC_MAX_CONNECTION_AGE_GRACE_MS: '-1',
      }),
    );
    expect(message).toContain('PAYMENTS_GRPC_URL: must be a gRPC target: host:port, dns:///');
    expect(message).toContain('GRPC_LB_POLICY: must be one of: round_robin, pick_first');
    expect(message).toContain('GRPC_KEEPALIVE_TIME_MS: must be at least 1000');
    expect(message).toContain('GRPC_KEEPALIVE_TIMEOUT_MS: must be positive');
    expect(message).toContain('GRPC_MAX_CONNECTION_AGE_MS: must be of type number');
    expect(message).toContain('GRPC_MAX_CONNECTION_AGE_GRACE_MS: must be positive');
    expect(
      problems(() => loadPaymentsConfig({ ...paymentsBase, ORDERS_GRPC_URL: 'orders' })),
    ).toContain('ORDERS_GRPC_URL: must be a gRPC target');
  });
});

describe(ServiceTokens.name, () => {
  const tokens = new ServiceTokens([
    { caller: 'orders', token: ORDERS_TOKEN },
    { caller: 'refunds', token: PAYMENTS_TOKEN },
  ]);

  it('names the caller a token belongs to', () => {
    expect(tokens.identify(ORDERS_TOKEN)).toBe('orders');
    expect(tokens.identify(PAYMENTS_TOKEN)).toBe('refunds');
  });

  it.each([
    ['a prefix of a known token', ORDERS_TOKEN.slice(0, -1)],
    ['a known token with one more character', `${ORDERS_TOKEN}x`],
    ['an empty token', ''],
    ['another token of the same length', ORDERS_TOKEN.replace('0', '1')],
  ])('knows nobody by %s', (_case, token) => {
    expect(tokens.identify(token)).toBeUndefined();
  });
});
