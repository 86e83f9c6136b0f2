// The image's HEALTHCHECK (see Dockerfile): node's fetch, since slim images have no curl.
// Asks the process this container runs, chosen by SERVICE, on loopback:
// - orders / payments: GET /health/live (liveness: the process serves HTTP), 2xx = healthy;
// - stripe-stand-in: it has no health route, so any HTTP answer means it is up.
// Exit code 0 = healthy, 1 = unhealthy.
const env = process.env;
const targets = {
  orders: { port: env.ORDERS_HTTP_PORT || '3000', path: '/health/live', anyAnswer: false },
  payments: { port: env.PAYMENTS_HTTP_PORT || '3001', path: '/health/live', anyAnswer: false },
  'stripe-stand-in': { port: env.STRIPE_STAND_IN_PORT || '12111', path: '/', anyAnswer: true },
};

const service = env.SERVICE ?? '';
const target = Object.hasOwn(targets, service) ? targets[service] : undefined;
if (target === undefined) {
  console.error(`healthcheck: SERVICE must be one of ${Object.keys(targets).join(', ')}`);
  process.exit(1);
}

const url = `http://127.0.0.1:${target.port}${target.path}`;
try {
  const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
  await response.body?.cancel();
  if (!target.anyAnswer && !response.ok) {
    console.error(`healthcheck: ${url} answered ${response.status}`);
    process.exit(1);
  }
} catch (error) {
  console.error(`healthcheck: ${url} failed: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
}
