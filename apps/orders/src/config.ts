import { z } from 'zod';
import { DEFAULT_PORTS, DEV_GRPC_TOKENS, DEV_JWT_SECRET } from '#common/config/defaults.js';
import { env, loadConfig } from '#common/config/config.js';
import { databaseSettings, databaseVariables } from '#common/db/database-config.js';
import { corsOriginsVariable } from './cors.js';
import { shutdownSettings, shutdownVariables } from '#common/runtime/shutdown.js';
import { httpLimits, httpLimitVariables, refineHttpLimits } from '#common/http/limits.js';
import { jwtAsymmetricKeyIssues, jwtEnv, jwtSettings } from './auth/jwt-config.js';
import {
  clientTls,
  grpcChannelSettings,
  grpcChannelVariables,
  grpcEnv,
  refineClientTls,
  refineProductionGrpcTokens,
  refineServerTls,
  serverTls,
} from '#common/grpc/config.js';

const schema = z
  .object({
    NODE_ENV: env.nodeEnv(),
    LOG_LEVEL: env.logLevel(),
    ORDERS_HTTP_HOST: env.optionalString().default('127.0.0.1'),
    ORDERS_HTTP_PORT: env.port(DEFAULT_PORTS.ordersHttp),
    ORDERS_GRPC_HOST: env.optionalString().default('127.0.0.1'),
    ORDERS_GRPC_PORT: env.port(DEFAULT_PORTS.ordersGrpc),
    ...databaseVariables('ORDERS'),
    PAYMENTS_GRPC_URL: env.grpcTarget(`127.0.0.1:${DEFAULT_PORTS.paymentsGrpc}`),
    PAYMENTS_GRPC_TIMEOUT_MS: env.positiveInt(3_000),
    PAYMENTS_RETRY_MAX_ATTEMPTS: env.positiveInt(3),
    PAYMENTS_RETRY_INITIAL_DELAY_MS: env.positiveInt(100),
    PAYMENTS_RETRY_MAX_DELAY_MS: env.positiveInt(1_000),
    PAYMENTS_BREAKER_THRESHOLD: env.positiveInt(5),
    PAYMENTS_BREAKER_HALF_OPEN_AFTER_MS: env.positiveInt(30_000),
    IDEMPOTENCY_RETENTION_HOURS: env.positiveInt(24),
    IDEMPOTENCY_LOCK_TIMEOUT_MS: env.positiveInt(30_000),
    IDEMPOTENCY_CLEANUP_INTERVAL_MS: env.positiveInt(10 * 60_000),
    IDEMPOTENCY_REPLAY_CACHE_MB: env.nonNegativeInt(16),
    JWT_SECRET: env
      .optionalString()
      .refine(
        (secret) => secret === undefined || secret.length >= 32,
        'must be at least 32 characters',
      ),
    JWT_ISSUER: env.optionalString(),
    JWT_AUDIENCE: env.optionalString(),
    ...jwtEnv,
    // Unset disables POST /api/v1/webhooks/payment-updates (every request answers 401).
    INTERNAL_API_KEY: env
      .optionalString()
      .refine((key) => key === undefined || key.length >= 32, 'must be at least 32 characters'),
    RECONCILE_INTERVAL_MS: env.positiveInt(60_000),
    RECONCILE_AFTER_MS: env.positiveInt(15 * 60_000),
    // Past every retry of a checkout by its client (each held its key for at most
    // IDEMPOTENCY_LOCK_TIMEOUT_MS): reconciliation finishes the checkouts they gave up on.
    RECONCILE_PENDING_AFTER_MS: env.positiveInt(5 * 60_000),
    RECONCILE_BATCH_SIZE: env.positiveInt(50).pipe(z.number().max(1000, 'must be at most 1000')),
    CORS_ORIGINS: corsOriginsVariable(),
    // GET /api/openapi.json and the explorer at /api/docs: on unless NODE_ENV=production.
    API_DOCS_ENABLED: env.optionalBoolean(),
    RATE_LIMIT_DEFAULT_LIMIT: env.positiveInt(120),
    RATE_LIMIT_DEFAULT_WINDOW_MS: env.positiveInt(60_000),
    RATE_LIMIT_CHECKOUT_LIMIT: env.positiveInt(20),
    RATE_LIMIT_CHECKOUT_WINDOW_MS: env.positiveInt(60_000),
    RATE_LIMIT_CHECKOUT_ADDRESS_LIMIT: env.positiveInt(60),
    RATE_LIMIT_CHECKOUT_ADDRESS_WINDOW_MS: env.positiveInt(60_000),
    RATE_LIMIT_WEBHOOK_LIMIT: env.positiveInt(60),
    RATE_LIMIT_WEBHOOK_WINDOW_MS: env.positiveInt(60_000),
    RATE_LIMIT_KEY_PREFIX: env.optionalString().default('orders:rate-limit:'),
    REDIS_URL: env.redisUrl(),
    TRUSTED_PROXIES: env.ipList(),
    ...shutdownVariables,
    ...httpLimitVariables,
    ...grpcChannelVariables,
    ORDERS_GRPC_INBOUND_TOKENS: grpcEnv.inboundTokens(),
    ...grpcEnv.serverTls('ORDERS'),
    PAYMENTS_GRPC_TOKEN: grpcEnv.token(),
    ...grpcEnv.clientTls('PAYMENTS'),
  })
  .superRefine((value, ctx) => {
    for (const issue of jwtAsymmetricKeyIssues(value)) ctx.addIssue({ code: 'custom', ...issue });
    refineServerTls('ORDERS', value, ctx);
    refineHttpLimits(value, ctx);
    refineClientTls('PAYMENTS', value, ctx);
    refineProductionGrpcTokens(
      value.NODE_ENV,
      {
        ORDERS_GRPC_INBOUND_TOKENS: value.ORDERS_GRPC_INBOUND_TOKENS?.map((c) => c.token),
        PAYMENTS_GRPC_TOKEN: value.PAYMENTS_GRPC_TOKEN ? [value.PAYMENTS_GRPC_TOKEN] : undefined,
      },
      ctx,
    );
  })
  .transform((value) => ({
    nodeEnv: value.NODE_ENV,
    logLevel: value.LOG_LEVEL,
    http: { host: value.ORDERS_HTTP_HOST, port: value.ORDERS_HTTP_PORT },
    grpc: { host: value.ORDERS_GRPC_HOST, port: value.ORDERS_GRPC_PORT },
    grpcTrust: {
      callers: value.ORDERS_GRPC_INBOUND_TOKENS ?? [
        { caller: 'payments', token: DEV_GRPC_TOKENS.paymentsToOrders },
      ],
      tls: serverTls('ORDERS', value),
    },
    grpcChannel: grpcChannelSettings(value),
    database: databaseSettings('ORDERS', value),
    payments: {
      url: value.PAYMENTS_GRPC_URL,
      token: value.PAYMENTS_GRPC_TOKEN ?? DEV_GRPC_TOKENS.ordersToPayments,
      tls: clientTls('PAYMENTS', value),
      timeoutMs: value.PAYMENTS_GRPC_TIMEOUT_MS,
      retry: {
        maxAttempts: value.PAYMENTS_RETRY_MAX_ATTEMPTS,
        initialDelayMs: value.PAYMENTS_RETRY_INITIAL_DELAY_MS,
        maxDelayMs: value.PAYMENTS_RETRY_MAX_DELAY_MS,
      },
      breaker: {
        threshold: value.PAYMENTS_BREAKER_THRESHOLD,
        halfOpenAfterMs: value.PAYMENTS_BREAKER_HALF_OPEN_AFTER_MS,
      },
    },
    idempotency: {
      retentionHours: value.IDEMPOTENCY_RETENTION_HOURS,
      lockTimeoutMs: value.IDEMPOTENCY_LOCK_TIMEOUT_MS,
      cleanupIntervalMs: value.IDEMPOTENCY_CLEANUP_INTERVAL_MS,
      replayCacheMb: value.IDEMPOTENCY_REPLAY_CACHE_MB,
    },
    jwt: {
      secret: value.JWT_SECRET ?? DEV_JWT_SECRET,
      issuer: value.JWT_ISSUER,
      audience: value.JWT_AUDIENCE,
      ...jwtSettings(value),
    },
    internalApiKey: value.INTERNAL_API_KEY,
    reconciliation: {
      intervalMs: value.RECONCILE_INTERVAL_MS,
      afterMs: value.RECONCILE_AFTER_MS,
      pendingAfterMs: value.RECONCILE_PENDING_AFTER_MS,
      batchSize: value.RECONCILE_BATCH_SIZE,
    },
    corsOrigins: value.CORS_ORIGINS,
    apiDocs: { enabled: value.API_DOCS_ENABLED ?? value.NODE_ENV !== 'production' },
    trustedProxies: value.TRUSTED_PROXIES,
    httpLimits: httpLimits(value),
    rateLimit: {
      store: { redisUrl: value.REDIS_URL, keyPrefix: value.RATE_LIMIT_KEY_PREFIX },
      default: {
        limit: value.RATE_LIMIT_DEFAULT_LIMIT,
        windowMs: value.RATE_LIMIT_DEFAULT_WINDOW_MS,
      },
      checkout: {
        limit: value.RATE_LIMIT_CHECKOUT_LIMIT,
        windowMs: value.RATE_LIMIT_CHECKOUT_WINDOW_MS,
      },
      checkoutAddress: {
        limit: value.RATE_LIMIT_CHECKOUT_ADDRESS_LIMIT,
        windowMs: value.RATE_LIMIT_CHECKOUT_ADDRESS_WINDOW_MS,
      },
      webhook: {
        limit: value.RATE_LIMIT_WEBHOOK_LIMIT,
        windowMs: value.RATE_LIMIT_WEBHOOK_WINDOW_MS,
      },
    },
    shutdown: shutdownSettings(value),
  }));

export type OrdersConfig = z.infer<typeof schema>;

/** Every variable orders reads: the deployment manifests may set no other (test/k8s-manifests). */
export const ORDERS_VARIABLES: readonly string[] = Object.keys(schema.in.shape);

/** DI token of the validated configuration. */
export const ORDERS_CONFIG = Symbol('ORDERS_CONFIG');

export function loadOrdersConfig(environment: NodeJS.ProcessEnv = process.env): OrdersConfig {
  return loadConfig(schema, environment);
}
