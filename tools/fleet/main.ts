// `npm run fleet`: like `npm start`, but two orders and two payments instances (FLEET_ORDERS,
// FLEET_PAYMENTS) on one PostgreSQL, reaching each other through multi-address gRPC targets with
// round robin, the Stripe stand-in delivering each webhook to the payments instances in turn.
import { fileURLToPath } from 'node:url';
import { Logger } from '@nestjs/common';
import { launcherToken } from '../dev/launcher-token.js';
import { runSupervised, SIGNALS } from '../dev/supervised.js';
import { Fleet } from './fleet.js';

const DEMO_CUSTOMER = 'demo-customer';
const setting = (name: string): string | undefined => process.env[name] || undefined;
const count = (name: string, fallback: number): number => {
  const value = Number(setting(name) ?? fallback);
  if (!Number.isInteger(value) || value < 1 || value > 9) {
    throw new Error(`${name} must be a whole number from 1 to 9`);
  }
  return value;
};
const say = (line: string) => console.log(`[fleet] ${line}`);

async function main(): Promise<void> {
  const ordersUrl = setting('ORDERS_DATABASE_URL');
  const paymentsUrl = setting('PAYMENTS_DATABASE_URL');
  const redisUrl = setting('REDIS_URL');
  const fleet = await Fleet.start({
    instances: { orders: count('FLEET_ORDERS', 2), payments: count('FLEET_PAYMENTS', 2) },
    // Beside npm start's ports (3000/3001, 50051/50052, 54329), so both can run at once.
    ports: {
      ordersHttp: 3100,
      ordersGrpc: 50152,
      paymentsHttp: 3200,
      paymentsGrpc: 50252,
      stripeStandIn: 12112,
    },
    databases: ordersUrl && paymentsUrl ? { ordersUrl, paymentsUrl } : undefined,
    dataDir: fileURLToPath(new URL('../../../.data/fleet-postgres', import.meta.url)),
    postgresPort: Number(setting('FLEET_POSTGRES_PORT') ?? 54339),
    env: { ...process.env, ...(redisUrl && { REDIS_URL: redisUrl }) },
    onOutput: (instance, line) => console.log(`[${instance}] ${line}`),
    log: say,
  });
  let stopping = false;
  for (const signal of SIGNALS) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      say('stopping');
      void fleet.stop().finally(() => process.exit(0));
    });
  }

  Logger.overrideLogger(['error', 'fatal']);
  const first = fleet.orders[0];
  const storefront = await launcherToken(
    { NODE_ENV: 'development', ...process.env, ORDERS_DATABASE_URL: fleet.databases.ordersUrl },
    DEMO_CUSTOMER,
  );
  const token = 'token' in storefront ? storefront.token : '$TOKEN';
  const lines = (instances: typeof fleet.orders, path: string) =>
    instances.map((i) => `  ${i.name.padEnd(11)} ${i.url}${path}  (gRPC ${i.grpcPort})`).join('\n');
  console.log(`
  Orders API (any instance; a load balancer would pick one):
${lines(fleet.orders, '/api/v1/orders')}
  Payments (health; Stripe's webhooks go to each in turn):
${lines(fleet.payments, '/health/ready')}
  gRPC targets     orders -> payments ${fleet.targets.payments}
                   payments -> orders ${fleet.targets.orders}  (round robin)
  Stripe           offline stand-in at ${fleet.stripe.url}
  Database         ${fleet.ownsPostgres ? `embedded PostgreSQL (${fleet.databases.ordersUrl.replace(/\/orders$/, '')})` : 'ORDERS_DATABASE_URL and PAYMENTS_DATABASE_URL'}
  Rate limits      ${redisUrl ? `shared by every instance in Redis (${redisUrl})` : 'per instance, in memory: REDIS_URL is not set, so N instances allow N times each limit'}

  ${'token' in storefront ? `Token for customer "${DEMO_CUSTOMER}": ${storefront.token}` : `No development token: ${storefront.instructions}`}

  Create an order on one instance, read it on the other:
  curl -sS -X POST ${first.url}/api/v1/orders -H "Authorization: Bearer ${token}" -H 'Content-Type: application/json' -H "Idempotency-Key: $(uuidgen 2>/dev/null || date +%s%N)" -d '{"currency":"usd","items":[{"sku":"SKU-1","name":"T-shirt","quantity":2,"unitAmount":1500}]}'
  curl -sS ${fleet.orders[1]?.url ?? first.url}/api/v1/orders -H "Authorization: Bearer ${token}"

  Ctrl-C stops everything.
`);
}

await runSupervised(() =>
  main().catch((error: unknown) => {
    console.error(`[fleet] ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }),
);
