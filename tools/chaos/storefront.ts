// The chaos workload's HTTP side: a storefront that retries every write with its key, on any
// orders instance, until it gets a final answer, and remembers every answer it got.
import { setTimeout as sleep } from 'node:timers/promises';

/** An answer worth keeping: every 5xx, and the final answer of each operation. */
export interface Answer {
  operation: string;
  instance: string;
  status: number;
  /** For a 503: the Retry-After it carried (null when missing). */
  retryAfter?: string | null;
  detail?: string;
}

export interface Final {
  status: number;
  body: unknown;
  /** Attempts made, the final one included. */
  attempts: number;
}

/** Answers a storefront retries with the same key: another attempt may succeed. */
function retryable(status: number): boolean {
  return status === 503 || status === 429;
}

export class Storefront {
  readonly answers: Answer[] = [];
  private next = 0;

  constructor(
    private readonly instances: () => { name: string; url: string }[],
    private readonly deadlineMs: number,
  ) {}

  /**
   * Sends the request to the orders instances in turn until a final answer (anything but a
   * transport error, 503, 429 or `idempotency_key_in_use`), backing off as Retry-After says (at
   * most 1 s). null: no final answer before the deadline.
   */
  async send(
    operation: string,
    method: 'GET' | 'POST',
    path: string,
    headers: Record<string, string>,
    body?: unknown,
  ): Promise<Final | null> {
    const giveUpAt = Date.now() + this.deadlineMs;
    for (let attempt = 1; Date.now() < giveUpAt; attempt++) {
      const all = this.instances();
      const instance = all[this.next++ % all.length];
      let response: Response;
      try {
        response = await fetch(`${instance.url}${path}`, {
          method,
          headers: {
            ...headers,
            ...(body !== undefined && { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(15_000),
        });
      } catch {
        // Refused, reset or timed out: the instance died or restarts; another one answers.
        await sleep(100 + Math.random() * 200);
        continue;
      }
      const text = await response.text();
      const parsed = parse(text);
      const inUse =
        response.status === 409 && problemType(parsed) === '/problems/idempotency-key-in-use';
      if (response.status >= 500) {
        this.answers.push({
          operation,
          instance: instance.name,
          status: response.status,
          retryAfter: response.headers.get('retry-after'),
          detail: (parsed as { detail?: string } | undefined)?.detail,
        });
      }
      if (inUse || retryable(response.status)) {
        const wait = Number(response.headers.get('retry-after') ?? 0) * 1000;
        await sleep(Math.min(1000, Math.max(100, wait)) * (0.5 + Math.random()));
        continue;
      }
      this.answers.push({ operation, instance: instance.name, status: response.status });
      return { status: response.status, body: parsed, attempts: attempt };
    }
    return null;
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function problemType(body: unknown): string | undefined {
  return (body as { type?: string } | undefined)?.type;
}
