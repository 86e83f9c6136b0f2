/**
 * Runs the Stripe stand-in as a process: `node dist/tools/stripe-stand-in/main.js`.
 * Environment: STRIPE_STAND_IN_PORT (default 12111), STRIPE_STAND_IN_HOST (default 127.0.0.1),
 * STRIPE_STAND_IN_API_KEY (optional; without it any sk_test_ key is accepted).
 */
import { DEFAULT_HOST, DEFAULT_PORT, StripeStandIn } from './server.js';

const port = Number(process.env['STRIPE_STAND_IN_PORT'] || DEFAULT_PORT);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(
    `STRIPE_STAND_IN_PORT must be a port number, got '${process.env['STRIPE_STAND_IN_PORT']}'`,
  );
  process.exit(1);
}

const standIn = await StripeStandIn.start({
  port,
  host: process.env['STRIPE_STAND_IN_HOST'] || DEFAULT_HOST,
  apiKey: process.env['STRIPE_STAND_IN_API_KEY'] || undefined,
});
console.log(`Stripe stand-in listening on ${standIn.url}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    standIn.stop().catch((error: unknown) => {
      console.error('Stripe stand-in did not stop cleanly', error);
      process.exitCode = 1;
    });
  });
}
