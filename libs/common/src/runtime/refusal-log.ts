import type { LoggerService } from '@nestjs/common';

/** How long refusals from one peer are counted before their summary is logged. */
export const REFUSAL_LOG_WINDOW_MS = 60_000;

/** Peers counted one by one per window; refusals from any more are counted together. */
export const REFUSAL_LOG_MAX_PEERS = 1_000;

interface Counted {
  refused: number;
  reasons: Map<string, number>;
}

const counted = (): Counted => ({ refused: 0, reasons: new Map() });

function add(into: Counted, reason: string): void {
  into.refused += 1;
  into.reasons.set(reason, (into.reasons.get(reason) ?? 0) + 1);
}

const reasonsOf = (count: Counted) =>
  [...count.reasons].map(([reason, times]) => `${reason}: ${times}`).join(', ');

/**
 * Logs refused calls so that a flood of them makes a bounded number of lines: the first refusal
 * from a peer address in a window is logged at once, the others from that address are counted
 * and logged as one summary line when the window ends. Count by address, not by `ip:port`: each
 * new connection has a new port. Memory is bounded by `maxPeers`.
 */
export class RefusalLog {
  private readonly peers = new Map<string, Counted>();
  /** Refusals from peers beyond `maxPeers` in this window. */
  private others = counted();
  private window?: { started: number; timer: NodeJS.Timeout };

  constructor(
    private readonly logger: Pick<LoggerService, 'warn'>,
    private readonly options = { windowMs: REFUSAL_LOG_WINDOW_MS, maxPeers: REFUSAL_LOG_MAX_PEERS },
  ) {}

  /** A call from `address` refused for `reason`; `line` is logged if it is the first one. */
  refused(address: string, reason: string, line: string): void {
    // unref: a pending summary never keeps the process alive.
    this.window ??= {
      started: Date.now(),
      timer: setTimeout(() => this.flush(), this.options.windowMs).unref(),
    };
    const seen = this.peers.get(address);
    if (seen) {
      add(seen, reason);
    } else if (this.peers.size < this.options.maxPeers) {
      this.peers.set(address, counted());
      this.logger.warn(line);
    } else {
      if (this.others.refused === 0) {
        this.logger.warn(
          `refusing calls from more than ${this.options.maxPeers} addresses: ` +
            'counting the refusals from the others together',
        );
      }
      add(this.others, reason);
    }
  }

  /** Logs the summaries of the window so far and starts afresh (at the end of a window, and on shutdown). */
  flush(): void {
    if (!this.window) return;
    clearTimeout(this.window.timer);
    const seconds = Math.max(1, Math.round((Date.now() - this.window.started) / 1000));
    for (const [address, count] of this.peers) {
      if (count.refused === 0) continue;
      this.logger.warn(
        `refused ${count.refused} more gRPC calls from ${address} in the last ${seconds} s ` +
          `(${reasonsOf(count)})`,
      );
    }
    if (this.others.refused > 0) {
      this.logger.warn(
        `refused ${this.others.refused} gRPC calls from addresses beyond the first ` +
          `${this.options.maxPeers} in the last ${seconds} s (${reasonsOf(this.others)})`,
      );
    }
    this.peers.clear();
    this.others = counted();
    this.window = undefined;
  }
}
