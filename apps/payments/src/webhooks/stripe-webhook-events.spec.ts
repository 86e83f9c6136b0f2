import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { STRIPE_WEBHOOK_EVENTS } from '#contracts/stripe-events.js';

describe('STRIPE_WEBHOOK_EVENTS', () => {
  it('are exactly the event types StripeEventsService applies', () => {
    const source = readFileSync(new URL('./stripe-events.service.ts', import.meta.url), 'utf8');
    const applied = [...source.matchAll(/case '([a-z_.]+)':/g)].map((match) => match[1]);
    expect(new Set(applied)).toEqual(new Set(STRIPE_WEBHOOK_EVENTS));
  });
});
