import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type Stripe from 'stripe';

export interface WebhookEndpoint {
  /**
   * Where events are posted. Several URLs: each delivery attempt goes to the next one in turn, as
   * a load balancer in front of several payments instances would (a retry lands on another).
   */
  url: string | readonly string[];
  /** The endpoint's signing secret, `whsec_...`. */
  secret: string;
  /** Stripe's `enabled_events`: the event types sent to this endpoint. Default `['*']`, all. */
  enabledEvents?: readonly string[];
}

/** Retries of failed deliveries, with exponential backoff as Stripe retries (faster). */
export interface WebhookRetryOptions {
  /** Delay before the first retry; doubled for each further one. Default 500. */
  initialDelayMs?: number;
  /** Upper bound of the delay. Default 10000. */
  maxDelayMs?: number;
  /** Attempts in all, the first included, before an event is given up. Default 10. */
  maxAttempts?: number;
}

export interface WebhookDelivery {
  eventId: string;
  /** 1 for the first attempt to send this event, counting on across retries and resends. */
  attempt: number;
  /** The endpoint's HTTP status, or 'error' when no answer came (connection error, timeout). */
  status: number | 'error';
}

export const WEBHOOK_USER_AGENT = 'Stripe/1.0 (+https://stripe.com/docs/webhooks)';
const REQUEST_TIMEOUT_MS = 10_000;
const DEFAULT_RETRY: Required<WebhookRetryOptions> = {
  initialDelayMs: 500,
  maxDelayMs: 10_000,
  maxAttempts: 10,
};

/**
 * Stripe's `Stripe-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<payload>">`,
 * keyed with the whole `whsec_...` secret.
 */
export function signatureHeader(
  payload: string,
  secret: string,
  timestamp = Math.floor(Date.now() / 1000),
): string {
  const signature = createHmac('sha256', secret)
    .update(`${timestamp}.${payload}`, 'utf8')
    .digest('hex');
  return `t=${timestamp},v1=${signature}`;
}

/** The body Stripe posts: the event, pretty-printed with two spaces. */
export function webhookPayload(event: Stripe.Event): string {
  return JSON.stringify(event, null, 2);
}

interface Job {
  eventId: string;
  /** Attempts made by this job. */
  tries: number;
  /** Resends from the dashboard are tried once; automatic deliveries are retried. */
  retry: boolean;
}

/**
 * Sends events to one endpoint, one at a time in creation order; a failed delivery is retried
 * later, behind whatever was queued meanwhile (so, as with Stripe, order is not guaranteed).
 */
export class WebhookDispatcher {
  private endpoint?: { urls: URL[]; secret: string; enabled: (type: string) => boolean };
  /** The next of the endpoint's URLs to deliver to. */
  private turn = 0;
  private readonly retry: Required<WebhookRetryOptions>;
  private readonly queue: Job[] = [];
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly log: WebhookDelivery[] = [];
  private readonly attempts = new Map<string, number>();
  private inFlight?: AbortController;
  private draining = false;
  private paused = false;
  private stopped = false;
  // Bumped by reset(): work started before it must not report or retry.
  private generation = 0;

  constructor(
    private readonly lookup: (eventId: string) => Stripe.Event | undefined,
    retry: WebhookRetryOptions = {},
    private readonly onChange: () => void = () => {},
  ) {
    this.retry = { ...DEFAULT_RETRY, ...definedOnly(retry) };
    const { initialDelayMs, maxDelayMs, maxAttempts } = this.retry;
    if (!(initialDelayMs >= 0) || !(maxDelayMs >= initialDelayMs)) {
      throw new RangeError('webhookRetry: need 0 <= initialDelayMs <= maxDelayMs');
    }
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
      throw new RangeError('webhookRetry: maxAttempts must be a positive integer');
    }
  }

  configure(endpoint: WebhookEndpoint): void {
    const urls = [endpoint.url].flat().map((each) => new URL(each));
    if (urls.length === 0) throw new TypeError('webhook url must not be empty');
    for (const url of urls) {
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new TypeError(`webhook url must be http(s), got ${url.href}`);
      }
    }
    if (!endpoint.secret) throw new TypeError('webhook secret must not be empty');
    const types = new Set(endpoint.enabledEvents ?? ['*']);
    if (types.size === 0) throw new TypeError('webhook enabledEvents must not be empty');
    this.endpoint = {
      urls,
      secret: endpoint.secret,
      enabled: types.has('*') ? () => true : (type) => types.has(type),
    };
  }

  /** Stripe's `pending_webhooks` of a new event of `type`. */
  endpointCount(type: string): number {
    return this.endpoint?.enabled(type) ? 1 : 0;
  }

  /** True when nothing is queued, being sent or waiting for a retry. */
  get idle(): boolean {
    return !this.draining && this.queue.length === 0 && this.retryTimers.size === 0;
  }

  enqueue(event: Stripe.Event): void {
    if (!this.endpoint?.enabled(event.type) || this.stopped) return;
    this.queue.push({ eventId: event.id, tries: 0, retry: true });
    this.kick();
  }

  /** Sends an existing event again, once, as the dashboard's "Resend" does. */
  redeliver(eventId: string): void {
    if (!this.lookup(eventId)) throw new Error(`redeliver: no event ${eventId}`);
    if (!this.endpoint) throw new Error('redeliver: no webhook endpoint is configured');
    if (this.stopped) return;
    this.queue.push({ eventId, tries: 0, retry: false });
    this.kick();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.kick();
    this.onChange();
  }

  deliveries(): WebhookDelivery[] {
    return this.log.map((delivery) => ({ ...delivery }));
  }

  /** Forgets deliveries and drops queued and pending work; the endpoint stays configured. */
  reset(): void {
    this.generation++;
    this.queue.length = 0;
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    this.inFlight?.abort();
    this.log.length = 0;
    this.attempts.clear();
    this.paused = false;
    this.onChange();
  }

  stop(): void {
    this.stopped = true;
    this.reset();
  }

  private kick(): void {
    if (this.draining || this.paused || this.stopped || this.queue.length === 0) return;
    this.draining = true;
    // Never on the API request's own turn: its response goes out first.
    setImmediate(() => void this.drain());
  }

  private async drain(): Promise<void> {
    try {
      while (!this.paused && !this.stopped && this.endpoint && this.queue.length > 0) {
        await this.deliver(this.queue.shift()!, this.endpoint);
      }
    } catch (error) {
      console.error('stripe-stand-in: webhook delivery failed unexpectedly', error);
    } finally {
      this.draining = false;
      this.onChange();
    }
  }

  private async deliver(job: Job, endpoint: { urls: URL[]; secret: string }): Promise<void> {
    const event = this.lookup(job.eventId);
    if (!event) return;
    const generation = this.generation;
    const attempt = (this.attempts.get(event.id) ?? 0) + 1;
    this.attempts.set(event.id, attempt);
    job.tries++;

    const payload = webhookPayload(event);
    const controller = new AbortController();
    this.inFlight = controller;
    const url = endpoint.urls[this.turn++ % endpoint.urls.length];
    const status = await post(url, payload, endpoint.secret, controller.signal);
    if (this.inFlight === controller) this.inFlight = undefined;
    if (generation !== this.generation) return;

    this.log.push({ eventId: event.id, attempt, status });
    if (typeof status === 'number' && status >= 200 && status < 300) {
      event.pending_webhooks = 0;
      return;
    }
    if (!job.retry || job.tries >= this.retry.maxAttempts || this.stopped) return;
    const delay = Math.min(this.retry.initialDelayMs * 2 ** (job.tries - 1), this.retry.maxDelayMs);
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      if (generation === this.generation) {
        this.queue.push(job);
        this.kick();
      }
      this.onChange();
    }, delay);
    this.retryTimers.add(timer);
  }
}

/** POSTs the signed payload; resolves with the HTTP status, or 'error' if none came. */
function post(
  url: URL,
  payload: string,
  secret: string,
  signal: AbortSignal,
): Promise<number | 'error'> {
  return new Promise((resolve) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const request = send(
      url,
      {
        method: 'POST',
        agent: false,
        signal,
        timeout: REQUEST_TIMEOUT_MS,
        headers: {
          Accept: '*/*; q=0.5, application/xml',
          'Cache-Control': 'no-cache',
          'Content-Type': 'application/json; charset=utf-8',
          'Content-Length': Buffer.byteLength(payload),
          'Stripe-Signature': signatureHeader(payload, secret),
          'User-Agent': WEBHOOK_USER_AGENT,
        },
      },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 'error');
      },
    );
    request.on('timeout', () => request.destroy(new Error('webhook request timed out')));
    request.on('error', () => resolve('error'));
    request.end(payload);
  });
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(value).filter(([, entry]) => entry !== undefined),
  ) as Partial<T>;
}
