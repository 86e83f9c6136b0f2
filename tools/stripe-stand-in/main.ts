/**
 * Runs the Stripe stand-in as a process: `node dist/tools/stripe-stand-in/main.js`.
 * Environment: STRIPE_STAND_IN_PORT (default 12111), STRIPE_STAND_IN_HOST (default 127.0.0.1),
 * STRIPE_STAND_IN_API_KEY (optional; without it any sk_test_ key is accepted),
 * STRIPE_STAND_IN_WEBHOOK_URL (optional; where to POST events, e.g.
 * http://127.0.0.1:3001/webhooks/stripe), signed with STRIPE_WEBHOOK_SECRET, the secret the
 * payments service verifies with (the first one if it lists several, comma-separated; default
 * the documented development secret), for the event types in STRIPE_STAND_IN_WEBHOOK_EVENTS
 * (comma-separated, `*` for all; default: those payments applies, as its endpoint subscribes).
 */
import { DEV_WEBHOOK_SECRET } from '#common/config/defaults.js';
import { STRIPE_WEBHOOK_EVENTS } from '#contracts/stripe-events.js';
import { DEFAULT_HOST, DEFAULT_PORT, StripeStandIn } from './server.js';

const port = Number(process.env['STRIPE_STAND_IN_PORT'] || DEFAULT_PORT);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(
    `STRIPE_STAND_IN_PORT must be a port number, got '${process.env['STRIPE_STAND_IN_PORT']}'`,
  );
  process.exit(1);
}

// Several comma-separated URLs: deliveries take them in turn (several payments instances).
const webhookUrls = (process.env['STRIPE_STAND_IN_WEBHOOK_URL'] ?? '')
  .split(',')
  .map((url) => url.trim())
  .filter((url) => url !== '');
const badUrl = webhookUrls.find((url) => !URL.canParse(url));
if (badUrl !== undefined) {
  console.error(`STRIPE_STAND_IN_WEBHOOK_URL must be URLs, comma-separated, got '${badUrl}'`);
  process.exit(1);
}
const webhookUrl = webhookUrls.length > 0 ? webhookUrls : undefined;
const webhookSecret =
  (process.env['STRIPE_WEBHOOK_SECRET'] ?? '')
    .split(',')
    .map((secret) => secret.trim())
    .find((secret) => secret !== '') ?? DEV_WEBHOOK_SECRET;

const listedEvents = (process.env['STRIPE_STAND_IN_WEBHOOK_EVENTS'] ?? '')
  .split(',')
  .map((type) => type.trim())
  .filter((type) => type !== '');
const webhookEvents = listedEvents.length > 0 ? listedEvents : STRIPE_WEBHOOK_EVENTS;

const standIn = await StripeStandIn.start({
  port,
  host: process.env['STRIPE_STAND_IN_HOST'] || DEFAULT_HOST,
  apiKey: process.env['STRIPE_STAND_IN_API_KEY'] || undefined,
  ...(webhookUrl !== undefined && {
    webhook: { url: webhookUrl, secret: webhookSecret, enabledEvents: webhookEvents },
  }),
});
console.log(`Stripe stand-in listening on ${standIn.url}`);
if (webhookUrl !== undefined) {
  console.log(`Stripe stand-in sends webhooks to ${webhookUrl.join(', ')}`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    standIn.stop().catch((error: unknown) => {
      console.error('Stripe stand-in did not stop cleanly', error);
      process.exitCode = 1;
    });
  });
}
