// The attacker of the webhook flood, in a process of its own: four clients posting forged
// deliveries as fast as they can. Run by webhook-flood.ts, so that its writes do not hold up the
// event loop that drives and times the checkout beside it. Prints its figures as one JSON line.
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';

const [origin, bytesArg, durationArg, connectionsArg] = process.argv.slice(2);
const bytes = Number(bytesArg);

/** Many short escaped keys, as the probe sent: the costliest JSON to scan when it was parsed. */
function forgedBody(size: number): string {
  const entry = `"\\u0061${randomUUID().slice(0, 4)}":1,`;
  return `{${entry.repeat(Math.floor((size - 7) / entry.length))}"z":1}`.padEnd(size, ' ');
}

const body = forgedBody(bytes);
const statuses: Record<number, number> = {};
const startedAt = performance.now();
let answered = 0;
const instance = autocannon(
  {
    url: origin,
    connections: Number(connectionsArg),
    duration: Number(durationArg) / 1000,
    sampleInt: 100,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        path: '/webhooks/stripe',
        body,
        setupRequest: (request) => ({
          ...request,
          headers: {
            'content-type': 'application/json',
            // Fresh and well formed, so it is not refused on its headers alone: only its signature
            // (or its size) is wrong.
            'stripe-signature': `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}`,
          },
        }),
      },
    ],
  },
  (error, result) => {
    if (error) throw error;
    const seconds = (performance.now() - startedAt) / 1000;
    process.stdout.write(
      `${JSON.stringify({ answered, rps: answered / seconds, resets: result.errors, statuses })}\n`,
    );
  },
);
instance.on('response', (_client, status) => {
  answered++;
  statuses[status] = (statuses[status] ?? 0) + 1;
});
