import type Stripe from 'stripe';
import { z } from 'zod';
import { DomainError } from '#common/errors.js';

const id = z.string().min(1).max(255);

/**
 * The parts of an event envelope payments relies on. Stripe always sends them; a signed event
 * without them (a test tool, a misbehaving relay holding the secret) is a 400 naming the first
 * field at fault, never a 500 that Stripe would retry for days.
 */
const envelope = z.object({
  id,
  object: z.literal('event'),
  type: id,
  created: z.number().int().positive(),
  data: z.object({ object: z.looseObject({ id: id.optional(), object: id }) }),
});

/** The event a verified delivery carries, or a 400 when its envelope is malformed. */
export function checkedEvent(parsed: unknown): Stripe.Event {
  const result = envelope.safeParse(parsed);
  if (result.success) return parsed as Stripe.Event;
  const issue = result.error.issues[0];
  const field = issue.path.join('.') || 'the event';
  throw new DomainError('bad_request', `The Stripe event is malformed: ${field} is invalid.`);
}
