import { z } from 'zod';
import {
  DEFAULT_PORTS,
  DEV_GRPC_TOKENS,
  DEV_WEBHOOK_SECRET,
  STAND_IN_STRIPE_KEY,
} from '#common/config/defaults.js';
import { env, loadConfig } from '#common/config/config.js';
import { databaseSettings, databaseVariables } from '#common/db/database-config.js';
import { shutdownSettings, shutdownVariables } from '#common/runtime/shutdown.js';
import { httpLimits, httpLimitVariables, refineHttpLimits } from '#common/http/limits.js';
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
    PAYMENTS_HTTP_HOST: env.optionalString().default('127.0.0.1'),
    PAYMENTS_HTTP_PORT: env.port(DEFAULT_PORTS.paymentsHttp),
    PAYMENTS_GRPC_HOST: env.optionalString().default('127.0.0.1'),
    PAYMENTS_GRPC_PORT: env.port(DEFAULT_PORTS.paymentsGrpc),
    ...databaseVariables('PAYMENTS'),
    STRIPE_SECRET_KEY: env
      .optionalString()
      .refine(
        (key) => key === undefined || /^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/.test(key),
        'must be a Stripe secret or restricted key (sk_... or rk_...)',
      ),
    STRIPE_API_URL: env.optionalString().pipe(z.url({ error: 'must be a URL' }).optional()),
    STRIPE_ALLOW_INSECURE_API_URL: env.optionalString().pipe(z.enum(['true', 'false']).optional()),
    STRIPE_TIMEOUT_MS: env.positiveInt(8_000),
    STRIPE_MAX_NETWORK_RETRIES: env.nonNegativeInt(2),
    STRIPE_WEBHOOK_SECRET: env
      .optionalString()
      .refine(
        (value) =>
          value === undefined || value.split(',').every((s) => /^whsec_\S+$/.test(s.trim())),
        'must be one or more comma-separated webhook signing secrets (whsec_...)',
      ),
    STRIPE_WEBHOOK_TOLERANCE_S: env.positiveInt(300),
    // Stripe's events of the types payments subscribes to are a few KB (a charge with its first
    // ten refunds is the largest); 256 KB leaves room and bounds what a forged body costs.
    STRIPE_WEBHOOK_BODY_LIMIT_KB: env
      .positiveInt(256)
      .pipe(z.number().max(1024, 'must be at most 1024')),
    ORDERS_GRPC_URL: env.grpcTarget(`127.0.0.1:${DEFAULT_PORTS.ordersGrpc}`),
    ORDERS_GRPC_TIMEOUT_MS: env.positiveInt(3_000),
    OUTBOX_POLL_INTERVAL_MS: env.positiveInt(500),
    OUTBOX_BATCH_SIZE: env.positiveInt(50),
    OUTBOX_MAX_BACKOFF_MS: env.positiveInt(60_000),
    OUTBOX_STUCK_AFTER_MS: env.positiveInt(60_000),
    // Permanent refusals by orders before a notification is parked. A few, since a refusal may
    // come from a deploy in progress (an orders replica that does not know the order yet); with
    // the backoff these five span about 15 s at least.
    OUTBOX_MAX_ATTEMPTS: env.positiveInt(5).pipe(z.number().max(100, 'must be at most 100')),
    PAYMENTS_FAULT_INJECTION: env.optionalString().pipe(z.enum(['true', 'false']).optional()),
    RATE_LIMIT_DEFAULT_LIMIT: env.positiveInt(120),
    RATE_LIMIT_DEFAULT_WINDOW_MS: env.positiveInt(60_000),
    RATE_LIMIT_WEBHOOK_LIMIT: env.positiveInt(60),
    RATE_LIMIT_WEBHOOK_WINDOW_MS: env.positiveInt(60_000),
    RATE_LIMIT_KEY_PREFIX: env.optionalString().default('payments:rate-limit:'),
    REDIS_URL: env.redisUrl(),
    TRUSTED_PROXIES: env.ipList(),
    ...shutdownVariables,
    ...httpLimitVariables,
    ...grpcChannelVariables,
    PAYMENTS_GRPC_INBOUND_TOKENS: grpcEnv.inboundTokens(),
    ...grpcEnv.serverTls('PAYMENTS'),
    ORDERS_GRPC_TOKEN: grpcEnv.token(),
    ...grpcEnv.clientTls('ORDERS'),
  })
  .superRefine((value, ctx) => {
    refineServerTls('PAYMENTS', value, ctx);
    refineHttpLimits(value, ctx);
    refineClientTls('ORDERS', value, ctx);
    refineProductionGrpcTokens(
      value.NODE_ENV,
      {
        PAYMENTS_GRPC_INBOUND_TOKENS: value.PAYMENTS_GRPC_INBOUND_TOKENS?.map((c) => c.token),
        ORDERS_GRPC_TOKEN: value.ORDERS_GRPC_TOKEN ? [value.ORDERS_GRPC_TOKEN] : undefined,
      },
      ctx,
    );
    if (value.PAYMENTS_FAULT_INJECTION === 'true' && value.NODE_ENV !== 'test') {
      ctx.addIssue({
        code: 'custom',
        path: ['PAYMENTS_FAULT_INJECTION'],
        message: 'is a test-only switch: allowed only with NODE_ENV=test',
      });
    }
    if (value.NODE_ENV === 'production' && !value.STRIPE_WEBHOOK_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['STRIPE_WEBHOOK_SECRET'],
        message: 'is required in production (the development secret is public)',
      });
    }
    if (value.NODE_ENV === 'production' && !value.STRIPE_SECRET_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['STRIPE_SECRET_KEY'],
        message: 'is required in production (the offline stand-in is for development)',
      });
    }
    if (value.NODE_ENV === 'production') {
      for (const issue of productionStripeIssues(value)) ctx.addIssue({ code: 'custom', ...issue });
    }
  })
  .transform((value) => ({
    nodeEnv: value.NODE_ENV,
    logLevel: value.LOG_LEVEL,
    http: { host: value.PAYMENTS_HTTP_HOST, port: value.PAYMENTS_HTTP_PORT },
    grpc: { host: value.PAYMENTS_GRPC_HOST, port: value.PAYMENTS_GRPC_PORT },
    grpcTrust: {
      callers: value.PAYMENTS_GRPC_INBOUND_TOKENS ?? [
        { caller: 'orders', token: DEV_GRPC_TOKENS.ordersToPayments },
      ],
      tls: serverTls('PAYMENTS', value),
    },
    grpcChannel: grpcChannelSettings(value),
    database: databaseSettings('PAYMENTS', value),
    stripe: stripeSettings(value),
    webhooks: {
      secrets: (value.STRIPE_WEBHOOK_SECRET ?? DEV_WEBHOOK_SECRET).split(',').map((s) => s.trim()),
      toleranceSeconds: value.STRIPE_WEBHOOK_TOLERANCE_S,
      bodyLimitBytes: value.STRIPE_WEBHOOK_BODY_LIMIT_KB * 1024,
    },
    orders: {
      url: value.ORDERS_GRPC_URL,
      token: value.ORDERS_GRPC_TOKEN ?? DEV_GRPC_TOKENS.paymentsToOrders,
      tls: clientTls('ORDERS', value),
      timeoutMs: value.ORDERS_GRPC_TIMEOUT_MS,
    },
    outbox: {
      pollIntervalMs: value.OUTBOX_POLL_INTERVAL_MS,
      batchSize: value.OUTBOX_BATCH_SIZE,
      maxBackoffMs: value.OUTBOX_MAX_BACKOFF_MS,
      stuckAfterMs: value.OUTBOX_STUCK_AFTER_MS,
      maxAttempts: value.OUTBOX_MAX_ATTEMPTS,
    },
    faultInjection: value.PAYMENTS_FAULT_INJECTION === 'true',
    trustedProxies: value.TRUSTED_PROXIES,
    httpLimits: httpLimits(value),
    rateLimit: {
      store: { redisUrl: value.REDIS_URL, keyPrefix: value.RATE_LIMIT_KEY_PREFIX },
      default: {
        limit: value.RATE_LIMIT_DEFAULT_LIMIT,
        windowMs: value.RATE_LIMIT_DEFAULT_WINDOW_MS,
      },
      webhook: {
        limit: value.RATE_LIMIT_WEBHOOK_LIMIT,
        windowMs: value.RATE_LIMIT_WEBHOOK_WINDOW_MS,
      },
    },
    shutdown: shutdownSettings(value),
  }));

export type PaymentsConfig = z.infer<typeof schema>;

/** Every variable payments reads: the deployment manifests may set no other (test/k8s-manifests). */
export const PAYMENTS_VARIABLES: readonly string[] = Object.keys(schema.in.shape);

/** DI token of the validated configuration. */
export const PAYMENTS_CONFIG = Symbol('PAYMENTS_CONFIG');

export function loadPaymentsConfig(environment: NodeJS.ProcessEnv = process.env): PaymentsConfig {
  return loadConfig(schema, environment);
}

const STAND_IN_URL = `http://127.0.0.1:${DEFAULT_PORTS.stripeStandIn}`;

/**
 * With a secret key and no API URL, the real Stripe API. Without a key, the offline stand-in
 * (at STRIPE_API_URL or its default port).
 */
function stripeSettings(value: {
  STRIPE_SECRET_KEY?: string;
  STRIPE_API_URL?: string;
  STRIPE_TIMEOUT_MS: number;
  STRIPE_MAX_NETWORK_RETRIES: number;
}) {
  const apiUrl = value.STRIPE_API_URL ?? (value.STRIPE_SECRET_KEY ? undefined : STAND_IN_URL);
  return {
    secretKey: value.STRIPE_SECRET_KEY ?? STAND_IN_STRIPE_KEY,
    apiUrl: apiUrl ? new URL(apiUrl) : undefined,
    timeoutMs: value.STRIPE_TIMEOUT_MS,
    maxNetworkRetries: value.STRIPE_MAX_NETWORK_RETRIES,
  };
}

/**
 * Development defaults production refuses, each naming its variable (never its value): the
 * stand-in's public key and webhook secret, and a Stripe API reached over plain HTTP (keys and
 * card data in clear). STRIPE_ALLOW_INSECURE_API_URL=true admits plain HTTP: the benchmarks and
 * compose's offline profile run production builds against the stand-in.
 */
function productionStripeIssues(value: {
  STRIPE_SECRET_KEY?: string;
  STRIPE_API_URL?: string;
  STRIPE_ALLOW_INSECURE_API_URL?: string;
  STRIPE_WEBHOOK_SECRET?: string;
}): { path: string[]; message: string }[] {
  const issues: { path: string[]; message: string }[] = [];
  if (value.STRIPE_SECRET_KEY === STAND_IN_STRIPE_KEY) {
    issues.push({
      path: ['STRIPE_SECRET_KEY'],
      message: "is the offline stand-in's public key: not allowed in production",
    });
  }
  const secrets = value.STRIPE_WEBHOOK_SECRET?.split(',').map((s) => s.trim()) ?? [];
  if (secrets.includes(DEV_WEBHOOK_SECRET)) {
    issues.push({
      path: ['STRIPE_WEBHOOK_SECRET'],
      message: 'includes the public development secret: not allowed in production',
    });
  }
  if (value.STRIPE_API_URL !== undefined) {
    const insecureAllowed = value.STRIPE_ALLOW_INSECURE_API_URL === 'true';
    if (new URL(value.STRIPE_API_URL).protocol !== 'https:' && !insecureAllowed) {
      issues.push({
        path: ['STRIPE_API_URL'],
        message:
          'must be an https:// URL in production (plain HTTP to the stand-in needs ' +
          'STRIPE_ALLOW_INSECURE_API_URL=true)',
      });
    }
  }
  return issues;
}
