import { type Counter, metrics, type ObservableResult } from '@opentelemetry/api';

/**
 * The business and health signals of the two services, beside the standard HTTP/RPC/DB metrics.
 * With telemetry off the API hands out no-op instruments, so recording costs nothing.
 */
const meter = () => metrics.getMeter('orders-payments');

const counters = new Map<string, Counter>();

function counter(name: string, description: string, unit = '{count}'): Counter {
  let instrument = counters.get(name);
  if (!instrument) {
    instrument = meter().createCounter(name, { description, unit });
    counters.set(name, instrument);
  }
  return instrument;
}

export function countOrderCreated(currency: string): void {
  counter('orders.created', 'Orders created').add(1, { 'order.currency': currency });
}

export function countIdempotentReplay(): void {
  counter('idempotency.replays', 'Requests answered from a stored idempotent response').add(1);
}

export function countPaymentStatus(status: string): void {
  counter('payments.status_changes', 'Payments entering a status').add(1, {
    'payment.status': status,
  });
}

export type WebhookOutcome = 'processed' | 'duplicate' | 'ignored' | 'rejected';

export function countWebhookEvent(type: string, outcome: WebhookOutcome): void {
  counter('webhooks.events', 'Stripe webhook deliveries by event type and outcome').add(1, {
    'stripe.event_type': type,
    'webhook.outcome': outcome,
  });
}

export function countRefund(status: string): void {
  counter('refunds.created', 'Refunds requested, by resulting status').add(1, {
    'refund.status': status,
  });
}

const CIRCUIT_VALUES: Record<string, number> = { closed: 0, half_open: 1, open: 2 };

/** `circuit.state`: 0 closed, 1 half-open, 2 open, per downstream service. */
export function observeCircuit(peer: string, state: () => string): void {
  meter()
    .createObservableGauge('circuit.state', {
      description: 'Circuit breaker state: 0 closed, 1 half-open, 2 open',
    })
    .addCallback((result: ObservableResult) =>
      result.observe(CIRCUIT_VALUES[state()] ?? 2, { 'peer.service': peer }),
    );
}

const outboxParks = () =>
  counter('outbox.parks', 'Payment notifications parked after permanent refusals by orders');

/**
 * `outbox.pending`, `outbox.oldest_pending_age` and `outbox.parked`, read from the database when
 * metrics are collected. They describe the one shared outbox table, so every payments instance
 * reports the same values: aggregate them across instances with max, never sum (two instances
 * would show twice the parked notifications). Each instance reports them rather than one elected
 * reporter: no gap while a reporter fails over, and an instance that cannot read the table shows
 * as a missing series. Their descriptions (Prometheus' HELP) say so.
 */
export function observeOutbox(
  backlog: () => Promise<{ pending: number; oldestPendingSeconds: number; parked: number }>,
): void {
  const pending = meter().createObservableGauge('outbox.pending', {
    description:
      'Payment notifications orders has not accepted yet, still retried (the shared table: max across instances)',
  });
  const oldest = meter().createObservableGauge('outbox.oldest_pending_age', {
    description:
      'Age of the oldest undelivered payment notification still retried (the shared table: max across instances)',
    unit: 's',
  });
  const parked = meter().createObservableGauge('outbox.parked', {
    description:
      'Payment notifications orders refused for good, waiting for an operator replay (the shared table: max across instances)',
  });
  // From 0, so that the first park is an increase (and an alert on it fires).
  outboxParks().add(0);
  meter().addBatchObservableCallback(
    async (result) => {
      const now = await backlog().catch(() => undefined);
      if (!now) return;
      result.observe(pending, now.pending);
      result.observe(oldest, now.oldestPendingSeconds);
      result.observe(parked, now.parked);
    },
    [pending, oldest, parked],
  );
}

/** `outbox.parks`: notifications this instance parked (a per-instance count: sum it). */
export function countOutboxParked(): void {
  outboxParks().add(1);
}
