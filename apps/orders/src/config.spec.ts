import { exportSPKI, generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigError } from '#common/config/config.js';
import { DEV_JWT_SECRET } from '#common/config/defaults.js';
import { loadOrdersConfig } from './config.js';

const base = { ORDERS_DATABASE_URL: 'postgres://localhost:5432/orders' };
/** Production's own gRPC service tokens (it refuses the public development ones). */
const grpcTokens = {
  ORDERS_GRPC_INBOUND_TOKENS: 'payments=a-production-payments-to-orders-token-0123',
  PAYMENTS_GRPC_TOKEN: 'a-production-orders-to-payments-token-0123',
};

describe(loadOrdersConfig.name, () => {
  it('applies the documented defaults', () => {
    const config = loadOrdersConfig(base);
    expect(config.http.port).toBe(3000);
    expect(config.grpc.port).toBe(50052);
    expect(config.payments.url).toBe('127.0.0.1:50051');
    expect(config.jwt.secret).toBe(DEV_JWT_SECRET);
    expect(config.internalApiKey).toBeUndefined();
    expect(config.reconciliation).toEqual({
      intervalMs: 60_000,
      afterMs: 900_000,
      pendingAfterMs: 300_000,
      batchSize: 50,
    });
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

  it('refuses a JWT secret shorter than 32 characters', () => {
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

  it('migrates on start unless ORDERS_MIGRATE_ON_START is false, and refuses other values', () => {
    expect(loadOrdersConfig(base).database.migrateOnStart).toBe(true);
    const off = loadOrdersConfig({ ...base, ORDERS_MIGRATE_ON_START: 'false' });
    expect(off.database.migrateOnStart).toBe(false);
    expect(() => loadOrdersConfig({ ...base, ORDERS_MIGRATE_ON_START: 'no' })).toThrow(
      'ORDERS_MIGRATE_ON_START: must be true or false',
    );
  });

  it('serves the API docs unless NODE_ENV=production, where API_DOCS_ENABLED=true turns them on', () => {
    expect(loadOrdersConfig(base).apiDocs.enabled).toBe(true);
    expect(loadOrdersConfig({ ...base, API_DOCS_ENABLED: 'false' }).apiDocs.enabled).toBe(false);
    const production = {
      ...base,
      ...grpcTokens,
      NODE_ENV: 'production',
      JWT_JWKS_URL: 'https://id.example.com/.well-known/jwks.json',
      JWT_ISSUER: 'https://id.example.com/',
      JWT_AUDIENCE: 'orders-api',
    };
    expect(loadOrdersConfig(production).apiDocs.enabled).toBe(false);
    expect(loadOrdersConfig({ ...production, API_DOCS_ENABLED: 'true' }).apiDocs.enabled).toBe(
      true,
    );
    expect(() => loadOrdersConfig({ ...base, API_DOCS_ENABLED: 'yes' })).toThrow(
      'API_DOCS_ENABLED: must be true or false',
    );
  });

  it('refuses reconciliation settings that are not positive integers', () => {
    let caught: unknown;
    try {
      loadOrdersConfig({
        ...base,
        RECONCILE_INTERVAL_MS: '0',
        RECONCILE_AFTER_MS: 'soon',
        RECONCILE_PENDING_AFTER_MS: '-1',
        RECONCILE_BATCH_SIZE: '5000',
      });
    } catch (error) {
      caught = error;
    }
    const message = (caught as ConfigError).message;
    expect(message).toContain('RECONCILE_INTERVAL_MS');
    expect(message).toContain('RECONCILE_AFTER_MS');
    expect(message).toContain('RECONCILE_PENDING_AFTER_MS');
    expect(message).toContain('RECONCILE_BATCH_SIZE');
  });

  it('bounds its HTTP server, refusing a headers timeout longer than the request timeout', () => {
    expect(loadOrdersConfig({ ...base, HTTP_MAX_CONNECTIONS: '500' }).httpLimits).toMatchObject({
      requestTimeoutMs: 30_000,
      headersTimeoutMs: 15_000,
      keepAliveTimeoutMs: 65_000,
      maxConnections: 500,
    });
    let caught: unknown;
    try {
      loadOrdersConfig({
        ...base,
        HTTP_REQUEST_TIMEOUT_MS: '5000',
        HTTP_KEEP_ALIVE_TIMEOUT_MS: '0',
      });
    } catch (error) {
      caught = error;
    }
    expect((caught as ConfigError).problems).toEqual([
      'HTTP_KEEP_ALIVE_TIMEOUT_MS: must be positive',
      'HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS (the request includes its headers)',
    ]);
  });

  describe('storefront tokens', () => {
    let ecPem: string;
    let rsaPem: string;
    const production = {
      ...base,
      NODE_ENV: 'production',
      JWT_ISSUER: 'https://id.example.com/',
      JWT_AUDIENCE: 'orders-api',
      ...grpcTokens,
    };
    const problemsOf = (environment: NodeJS.ProcessEnv): string[] => {
      try {
        loadOrdersConfig(environment);
        return [];
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).problems;
      }
    };

    beforeAll(async () => {
      ecPem = await exportSPKI((await generateKeyPair('ES256', { extractable: true })).publicKey);
      rsaPem = await exportSPKI((await generateKeyPair('RS256', { extractable: true })).publicKey);
    });

    it('verifies HS256 with the development secret when no public key is configured', () => {
      const { jwt } = loadOrdersConfig(base);
      expect(jwt).toMatchObject({
        verification: 'secret',
        secret: DEV_JWT_SECRET,
        algorithms: ['HS256'],
        clockSkewSeconds: 30,
        maxTokenLifetimeSeconds: 86_400,
        rolesClaim: 'roles',
      });
    });

    it('refuses HS256 in production, naming JWT_SECRET and the variables to set instead', () => {
      const secret = 'a-production-secret-of-more-than-32-chars';
      const problems = problemsOf({ ...production, JWT_SECRET: secret });
      expect(problems).toEqual([
        expect.stringMatching(/^JWT_SECRET: .*JWT_JWKS_URL or JWT_PUBLIC_KEY/),
      ]);
      expect(problems.join()).not.toContain(secret);
      expect(problemsOf({ ...production })).toEqual([
        expect.stringMatching(/^JWT_SECRET: .*JWT_JWKS_URL or JWT_PUBLIC_KEY/),
      ]);
    });

    it('runs in production without INTERNAL_API_KEY (the internal push stays closed)', () => {
      const config = loadOrdersConfig({ ...production, JWT_PUBLIC_KEY: ecPem });
      expect(config.internalApiKey).toBeUndefined();
      expect(config.shutdown).toEqual({ drainDelayMs: 5000, graceMs: 10000 });
    });

    it('requires an issuer and an audience in production', () => {
      const problems = problemsOf({
        ...base,
        ...grpcTokens,
        NODE_ENV: 'production',
        JWT_PUBLIC_KEY: ecPem,
      });
      expect(problems).toEqual([
        'JWT_ISSUER: is required in production',
        'JWT_AUDIENCE: is required in production',
      ]);
    });

    it('starts in production with a PEM public key given on one line with \\n escapes', () => {
      const oneLine = ecPem.trim().replaceAll('\n', '\\n');
      expect(oneLine).not.toContain('\n');
      const { jwt } = loadOrdersConfig({ ...production, JWT_PUBLIC_KEY: oneLine });
      expect(jwt).toMatchObject({
        verification: 'publicKey',
        publicKey: ecPem.trim(),
        algorithms: ['RS256', 'ES256'],
        issuer: 'https://id.example.com/',
        audience: 'orders-api',
      });
    });

    it('starts in production with an https JWKS URL, and refuses a plain http one there', () => {
      const jwksUrl = 'https://id.example.com/.well-known/jwks.json';
      const { jwt } = loadOrdersConfig({ ...production, JWT_JWKS_URL: jwksUrl });
      expect(jwt.verification).toBe('jwks');
      expect(jwt.jwks).toEqual({
        url: new URL(jwksUrl),
        timeoutMs: 5000,
        cooldownMs: 30_000,
        cacheMaxAgeMs: 600_000,
      });
      expect(problemsOf({ ...production, JWT_JWKS_URL: 'http://id.example.com/jwks' })).toEqual([
        'JWT_JWKS_URL: must be an https:// URL in production',
      ]);
    });

    it('refuses none, HS256 and unknown names among the algorithms', () => {
      for (const algorithms of ['none', 'RS256,HS256', 'RS257']) {
        expect(problemsOf({ ...base, JWT_PUBLIC_KEY: rsaPem, JWT_ALGORITHMS: algorithms })).toEqual(
          [expect.stringMatching(/^JWT_ALGORITHMS\b.*never none or HS/)],
        );
      }
      expect(
        loadOrdersConfig({ ...base, JWT_PUBLIC_KEY: rsaPem, JWT_ALGORITHMS: ' PS256, RS256 ' }).jwt
          .algorithms,
      ).toEqual(['PS256', 'RS256']);
    });

    it('refuses algorithms that cannot use the configured key', () => {
      expect(problemsOf({ ...base, JWT_PUBLIC_KEY: rsaPem, JWT_ALGORITHMS: 'ES256' })).toEqual([
        'JWT_ALGORITHMS: none of them can verify with JWT_PUBLIC_KEY (a rsa key)',
      ]);
    });

    it('refuses ambiguous key settings and a malformed PEM without echoing it', () => {
      expect(
        problemsOf({ ...base, JWT_PUBLIC_KEY: ecPem, JWT_JWKS_URL: 'https://id.example.com/jwks' }),
      ).toEqual(['JWT_PUBLIC_KEY: set either JWT_JWKS_URL or JWT_PUBLIC_KEY, not both']);
      expect(problemsOf({ ...base, JWT_PUBLIC_KEY: ecPem, JWT_SECRET: 'x'.repeat(32) })).toEqual([
        expect.stringMatching(/^JWT_SECRET: must be unset/),
      ]);
      expect(problemsOf({ ...base, JWT_ALGORITHMS: 'RS256' })).toEqual([
        expect.stringMatching(/^JWT_ALGORITHMS: applies to JWT_JWKS_URL or JWT_PUBLIC_KEY/),
      ]);
      const problems = problemsOf({ ...base, JWT_PUBLIC_KEY: 'not-a-key-SECRETISH' });
      expect(problems).toEqual([
        expect.stringMatching(/^JWT_PUBLIC_KEY: must be a PEM public key/),
      ]);
      expect(problems.join()).not.toContain('SECRETISH');
    });

    it('bounds the clock skew to 300 seconds', () => {
      expect(loadOrdersConfig({ ...base, JWT_CLOCK_SKEW_SECONDS: '0' }).jwt.clockSkewSeconds).toBe(
        0,
      );
      expect(problemsOf({ ...base, JWT_CLOCK_SKEW_SECONDS: '301' })).toEqual([
        'JWT_CLOCK_SKEW_SECONDS: must be at most 300',
      ]);
    });

    it('bounds the token lifetime it accepts to a week', () => {
      const lifetime = (value: string) =>
        loadOrdersConfig({ ...base, JWT_MAX_TOKEN_LIFETIME_SECONDS: value }).jwt
          .maxTokenLifetimeSeconds;
      expect(lifetime('3600')).toBe(3600);
      expect(lifetime('604800')).toBe(604_800);
      expect(problemsOf({ ...base, JWT_MAX_TOKEN_LIFETIME_SECONDS: '604801' })).toEqual([
        'JWT_MAX_TOKEN_LIFETIME_SECONDS: must be at most 604800 (7 days)',
      ]);
      expect(problemsOf({ ...base, JWT_MAX_TOKEN_LIFETIME_SECONDS: '0' })).toEqual([
        'JWT_MAX_TOKEN_LIFETIME_SECONDS: must be positive',
      ]);
    });
  });
});
