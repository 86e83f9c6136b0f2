import type Stripe from 'stripe';

/** Objects of one kind, kept in creation order (which Map iteration preserves). */
export class Collection<T extends { id: string }> {
  private readonly items = new Map<string, T>();

  insert(item: T): T {
    this.items.set(item.id, item);
    return item;
  }

  get(id: string): T | undefined {
    return this.items.get(id);
  }

  all(): T[] {
    return [...this.items.values()];
  }

  clear(): void {
    this.items.clear();
  }
}

/** All objects the stand-in holds; one Stripe account shared by every accepted API key. */
export class Store {
  readonly paymentIntents = new Collection<Stripe.PaymentIntent>();
  readonly charges = new Collection<Stripe.Charge>();
  readonly refunds = new Collection<Stripe.Refund>();
  readonly disputes = new Collection<Stripe.Dispute>();
  readonly events = new Collection<Stripe.Event>();

  reset(): void {
    this.paymentIntents.clear();
    this.charges.clear();
    this.refunds.clear();
    this.disputes.clear();
    this.events.clear();
  }
}
