/** Default ports of the local setup; every one can be overridden by configuration. */
export const DEFAULT_PORTS = {
  ordersHttp: 3000,
  ordersGrpc: 50052,
  paymentsHttp: 3001,
  paymentsGrpc: 50051,
  stripeStandIn: 12111,
} as const;

/**
 * The development JWT secret (HS256), documented in .env.example. Accepted only when
 * NODE_ENV is not production; production must configure its own.
 */
export const DEV_JWT_SECRET = 'dev-only-insecure-jwt-secret-do-not-use-in-production';

/** The API key the services use against the offline Stripe stand-in. */
export const STAND_IN_STRIPE_KEY = 'sk_test_stand_in';

/**
 * The development Stripe webhook signing secret, documented in .env.example: the offline stand-in
 * signs with it and payments verifies with it when STRIPE_WEBHOOK_SECRET is unset outside
 * production.
 */
export const DEV_WEBHOOK_SECRET = 'whsec_dev_stand_in_0123456789abcdef';

/**
 * The development service tokens of the gRPC calls between the services, documented in
 * .env.example: each service presents and accepts them when its token variables are unset outside
 * production. Production refuses them.
 */
export const DEV_GRPC_TOKENS = {
  /** What orders presents to payments. */
  ordersToPayments: 'dev-only-orders-to-payments-grpc-token-0123456789',
  /** What payments presents to orders. */
  paymentsToOrders: 'dev-only-payments-to-orders-grpc-token-0123456789',
} as const;
