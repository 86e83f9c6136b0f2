/**
 * What Stripe does some time after a request (a dispute opened, a refund failing), run on timers
 * so that tests can wait for it (`webhooksIdle()`) and `reset()`/`stop()` can cancel it.
 */
export class FollowUps {
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    readonly delayMs: number,
    private readonly onChange: () => void,
  ) {}

  get idle(): boolean {
    return this.timers.size === 0;
  }

  after(action: () => void, delayMs = this.delayMs): void {
    const timer = setTimeout(() => {
      try {
        action();
      } catch (error) {
        console.error('stripe-stand-in: a simulated follow-up failed', error);
      } finally {
        this.timers.delete(timer);
        this.onChange();
      }
    }, delayMs);
    this.timers.add(timer);
  }

  clear(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.onChange();
  }
}
