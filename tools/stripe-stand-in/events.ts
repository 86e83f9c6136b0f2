import Stripe from 'stripe';
import { resourceMissing } from './errors.js';
import { objectId } from './ids.js';
import { LIST_PARAMS, listPage } from './list.js';
import { ok, type Router } from './router.js';
import type { Store } from './store.js';

/** `event.request`: the API request that caused the event; both null for automatic changes. */
export interface EventOrigin {
  id: string | null;
  idempotency_key: string | null;
}

export const AUTOMATIC: EventOrigin = { id: null, idempotency_key: null };

export type EventObject = Stripe.PaymentIntent | Stripe.Charge | Stripe.Refund | Stripe.Dispute;

/**
 * Creates Stripe Events, each with a snapshot of the object as it is at that moment, and hands
 * them to webhook delivery.
 */
export class EventLog {
  constructor(
    private readonly store: Store,
    private readonly delivery: {
      /** Endpoints that will be sent an event of `type` (Stripe's `pending_webhooks`). */
      endpointCount(type: string): number;
      enqueue(event: Stripe.Event): void;
    },
  ) {}

  emit(
    type: Stripe.Event.Type,
    object: EventObject,
    origin: EventOrigin,
    previousAttributes?: Record<string, unknown>,
  ): Stripe.Event {
    const data: Stripe.Event.Data = { object: structuredClone(object) };
    if (previousAttributes) data.previous_attributes = structuredClone(previousAttributes);
    const event = {
      id: objectId('evt'),
      object: 'event',
      api_version: Stripe.API_VERSION,
      created: Math.floor(Date.now() / 1000),
      data,
      livemode: false,
      pending_webhooks: this.delivery.endpointCount(type),
      request: { ...origin },
      type,
    } as Stripe.Event;
    this.store.events.insert(event);
    this.delivery.enqueue(event);
    return event;
  }
}

/**
 * The values that `after` changed, as they were in `before`: Stripe's `previous_attributes`, where a
 * field that was not there before shows as null.
 */
export function previousAttributes<T extends object>(before: T, after: T): Record<string, unknown> {
  const previous: Record<string, unknown> = {};
  for (const key of Object.keys(after) as (keyof T & string)[]) {
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) {
      previous[key] = before[key] ?? null;
    }
  }
  return previous;
}

export function registerEvents(router: Router, store: Store): void {
  router
    .get('/v1/events', ({ params }) => {
      params.allowOnly([...LIST_PARAMS, 'type', 'types', 'delivery_success']);
      const type = params.string('type');
      const types = params.stringArray('types');
      const delivered = params.boolean('delivery_success');
      const events = store.events
        .all()
        .filter(
          (event) =>
            (type === undefined || typeMatches(type, event.type)) &&
            (types === undefined || types.some((pattern) => typeMatches(pattern, event.type))) &&
            (delivered === undefined || (event.pending_webhooks === 0) === delivered),
        );
      return ok(listPage(events, params, { url: '/v1/events', objectName: 'event' }));
    })
    .get('/v1/events/:id', ({ params, pathParams }) => {
      params.allowOnly(['expand']);
      const event = store.events.get(pathParams['id']);
      if (!event) throw resourceMissing('event', pathParams['id'], 'id');
      return ok(event);
    });
}

/** Stripe's type filter takes `*` as a wildcard, e.g. `charge.dispute.*`. */
function typeMatches(pattern: string, type: string): boolean {
  if (!pattern.includes('*')) return pattern === type;
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`).test(type);
}
