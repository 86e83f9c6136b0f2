import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import Stripe from 'stripe';
import {
  StripeApiError,
  apiError,
  idempotencyError,
  invalidApiKey,
  invalidParam,
  missingApiKey,
  unrecognizedUrl,
} from './errors.js';
import { registerCharges } from './charges.js';
import type { Context } from './context.js';
import { registerDisputes } from './disputes.js';
import { EventLog, registerEvents } from './events.js';
import { expandPaths, expandResponse } from './expand.js';
import { FollowUps } from './follow-ups.js';
import { FormDecodeError, decodeForm, type FormObject } from './form.js';
import { IdempotencyStore } from './idempotency.js';
import { requestId } from './ids.js';
import { settlePaymentIntent, type SettleOutcome } from './intent-lifecycle.js';
import { ParamReader } from './params.js';
import { registerPaymentIntents } from './payment-intents.js';
import { registerRefunds } from './refunds.js';
import { Router, ok, type ApiRequest, type Handler } from './router.js';
import { Store } from './store.js';
import {
  WebhookDispatcher,
  type WebhookDelivery,
  type WebhookEndpoint,
  type WebhookRetryOptions,
} from './webhooks.js';

export type { SettleOutcome } from './intent-lifecycle.js';
export type { WebhookDelivery, WebhookEndpoint, WebhookRetryOptions } from './webhooks.js';

export const DEFAULT_PORT = 12111;
export const DEFAULT_HOST = '127.0.0.1';

export interface StripeStandInOptions {
  /** 0 picks a random free port; default 12111. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** If set, requests must send `Bearer <apiKey>`; otherwise any `sk_test_` key is accepted. */
  apiKey?: string;
  /** Where to POST every event, signed with `secret` as Stripe signs (see setWebhook()). */
  webhook?: WebhookEndpoint;
  /** Retries of deliveries the endpoint did not answer with 2xx. */
  webhookRetry?: WebhookRetryOptions;
  /**
   * How long after the payment or refund the delayed test card behaviours happen: the dispute of
   * `pm_card_createDispute`, the failure of refunds of `pm_card_refundFail`. Default 200 ms.
   */
  followUpDelayMs?: number;
}

/** A request kept waiting by holdNext(). */
export interface Hold {
  /** Resolves once a request is being held. */
  readonly reached: Promise<void>;
  /** Lets the held request be processed (or, before one arrived, cancels the hold). */
  readonly release: () => void;
}

interface PendingHold extends Hold {
  readonly released: Promise<void>;
  taken: boolean;
  onReached(): void;
}

interface Reply {
  status: number;
  body: string;
  /** Whether an idempotent retry may get this reply back (see StripeApiError). */
  replayable: boolean;
  /** Set when the reply is a replay of the request with this id. */
  originalRequest?: string;
}

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/**
 * An offline stand-in for the part of Stripe's v1 REST API the project uses, served over real
 * HTTP so the official SDK can talk to it: `new Stripe(key, { host, port, protocol: 'http' })`.
 */
export class StripeStandIn {
  private readonly server: Server;
  private readonly router = new Router();
  private readonly testRouter = new Router();
  private readonly store = new Store();
  private readonly idempotency = new IdempotencyStore();
  private readonly webhooks: WebhookDispatcher;
  private readonly followUps: FollowUps;
  private readonly context: Context;
  private idleWaiters: (() => void)[] = [];
  private readonly shutdown = new AbortController();
  private address?: AddressInfo;
  private requests = 0;
  private failures = { remaining: 0, status: 500 };
  private delays = { remaining: 0, ms: 0 };
  /** Holds not yet released, the first one not yet reached next in line. */
  private holds: PendingHold[] = [];
  private stopped?: Promise<void>;

  private constructor(
    readonly host: string,
    private readonly apiKey: string | undefined,
    options: StripeStandInOptions,
  ) {
    const followUpDelayMs = options.followUpDelayMs ?? 200;
    if (!Number.isFinite(followUpDelayMs) || followUpDelayMs < 0) {
      throw new RangeError(`followUpDelayMs: bad delay ${followUpDelayMs}`);
    }
    const onChange = () => this.notifyIfIdle();
    this.webhooks = new WebhookDispatcher(
      (id) => this.store.events.get(id),
      options.webhookRetry,
      onChange,
    );
    if (options.webhook) this.webhooks.configure(options.webhook);
    this.followUps = new FollowUps(followUpDelayMs, onChange);
    const context: Context = {
      store: this.store,
      events: new EventLog(this.store, this.webhooks),
      followUps: this.followUps,
    };
    this.context = context;
    registerPaymentIntents(this.router, context);
    registerCharges(this.router, this.store);
    registerRefunds(this.router, context);
    registerDisputes(this.router, context);
    registerEvents(this.router, this.store);
    this.registerTestRoutes();
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        console.error('stripe-stand-in: failed to answer a request', error);
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
  }

  static async start(options: StripeStandInOptions = {}): Promise<StripeStandIn> {
    const standIn = new StripeStandIn(options.host ?? DEFAULT_HOST, options.apiKey, options);
    await standIn.listen(options.port ?? DEFAULT_PORT);
    return standIn;
  }

  get port(): number {
    return this.address!.port;
  }

  /** e.g. `http://127.0.0.1:12111` */
  get url(): string {
    return `http://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  stop(): Promise<void> {
    this.stopped ??= new Promise<void>((resolve, reject) => {
      this.shutdown.abort();
      this.releaseHolds();
      this.webhooks.stop();
      this.followUps.clear();
      this.notifyIfIdle();
      this.server.close((error) => (error ? reject(error) : resolve()));
      // The SDK keeps connections alive; close() alone would wait for them to idle out.
      this.server.closeAllConnections();
    });
    return this.stopped;
  }

  /** Every PaymentIntent created, oldest first; copies, so tests cannot alter the stand-in. */
  paymentIntents(): Stripe.PaymentIntent[] {
    return structuredClone(this.store.paymentIntents.all());
  }

  /** Every Charge (one per payment attempt), oldest first. */
  charges(): Stripe.Charge[] {
    return structuredClone(this.store.charges.all());
  }

  /** Every Refund, oldest first. */
  refunds(): Stripe.Refund[] {
    return structuredClone(this.store.refunds.all());
  }

  /** Every Dispute, oldest first. */
  disputes(): Stripe.Dispute[] {
    return structuredClone(this.store.disputes.all());
  }

  /** Every Event, in creation order (the API lists them newest first). */
  events(): Stripe.Event[] {
    return structuredClone(this.store.events.all());
  }

  /** Every webhook delivery attempt so far, in the order the answers came. */
  deliveries(): WebhookDelivery[] {
    return this.webhooks.deliveries();
  }

  /**
   * Sends events from now on (and those still queued) to `url`, signed with `secret`: those of the
   * `enabledEvents` types (Stripe's `enabled_events`), or all.
   */
  setWebhook(
    url: string | readonly string[],
    secret: string,
    enabledEvents?: readonly string[],
  ): void {
    this.webhooks.configure({ url, secret, enabledEvents });
  }

  /** Holds deliveries back (events queue up) until resumeWebhooks(). */
  pauseWebhooks(): void {
    this.webhooks.pause();
  }

  resumeWebhooks(): void {
    this.webhooks.resume();
  }

  /** Sends an existing event again, once, as the dashboard's "Resend" does. */
  redeliver(eventId: string): void {
    this.webhooks.redeliver(eventId);
  }

  /**
   * Ends a `processing` PaymentIntent (`pm_stand_in_processing`): the bank's answer. Also ends a
   * `requires_action` one (`pm_card_authenticationRequired`): the customer passes or fails 3D
   * Secure. Emits the events Stripe would; returns a copy of the PaymentIntent.
   */
  settle(paymentIntentId: string, outcome: SettleOutcome): Stripe.PaymentIntent {
    return structuredClone(settlePaymentIntent(this.context, paymentIntentId, outcome));
  }

  /**
   * Resolves once no delayed behaviour is pending and no webhook is queued, being sent or waiting
   * for a retry. While webhooks are paused with events queued, it waits for resumeWebhooks().
   */
  webhooksIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.notifyIfIdle();
    });
  }

  /** API requests received, the introspection endpoints (`/_stand_in/...`) not included. */
  requestCount(): number {
    return this.requests;
  }

  /** Forgets all objects, events, deliveries and pending work; the webhook endpoint stays. */
  reset(): void {
    this.followUps.clear();
    this.webhooks.reset();
    this.store.reset();
    this.idempotency.clear();
    this.requests = 0;
    this.failures = { remaining: 0, status: 500 };
    this.delays = { remaining: 0, ms: 0 };
    this.releaseHolds();
  }

  /** The next `n` API requests answer an `api_error` with `status`, as during a Stripe outage. */
  failNext(n: number, status = 500): void {
    assertCount(n);
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(`failNext: status must be an HTTP error status, got ${status}`);
    }
    this.failures = { remaining: n, status };
  }

  /**
   * The next `n` API requests are processed only after `ms` milliseconds, with their idempotency
   * key already claimed: lets tests provoke client timeouts and concurrent retries.
   */
  delayNext(n: number, ms: number): void {
    assertCount(n);
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`delayNext: bad delay ${ms}`);
    this.delays = { remaining: n, ms };
  }

  /**
   * The next API request waits, with its idempotency key claimed, until the returned hold is
   * released (or the stand-in stops, which answers it 503): lets a test keep a request in flight
   * for as long as it needs, e.g. across a service's shutdown.
   */
  holdNext(): Hold {
    let release!: () => void;
    let reached!: () => void;
    const hold: PendingHold = {
      reached: new Promise<void>((resolve) => (reached = resolve)),
      released: new Promise<void>((resolve) => (release = resolve)),
      taken: false,
      release: () => {
        this.holds = this.holds.filter((other) => other !== hold);
        release();
      },
      onReached: () => reached(),
    };
    this.holds.push(hold);
    return { reached: hold.reached, release: hold.release };
  }

  private releaseHolds(): void {
    for (const hold of [...this.holds]) hold.release();
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, this.host, () => {
        this.server.off('error', reject);
        this.address = this.server.address() as AddressInfo;
        resolve();
      });
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const method = req.method ?? 'GET';
    const body = await readBody(req);
    const id = requestId();
    let reply: Reply;
    if (url.pathname.startsWith('/_stand_in/')) {
      reply = await this.introspect(method, url, body);
    } else {
      this.requests++;
      reply = await this.respond(req, method, url, body, id);
    }
    if (res.destroyed) return;

    const idempotencyKey = header(req, 'idempotency-key');
    res.writeHead(reply.status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(reply.body),
      'Cache-Control': 'no-cache, no-store',
      'Request-Id': id,
      'Stripe-Version': header(req, 'stripe-version') ?? Stripe.API_VERSION,
      ...(idempotencyKey !== undefined && { 'Idempotency-Key': idempotencyKey }),
      ...(reply.originalRequest !== undefined && {
        'Idempotent-Replayed': 'true',
        'Original-Request': reply.originalRequest,
      }),
    });
    res.end(reply.body);
  }

  private async respond(
    req: IncomingMessage,
    method: string,
    url: URL,
    body: string | undefined,
    id: string,
  ): Promise<Reply> {
    try {
      if (this.failures.remaining > 0) {
        this.failures.remaining--;
        throw apiError(this.failures.status);
      }
      if (body === undefined) {
        throw new StripeApiError(
          413,
          { type: 'invalid_request_error', message: 'Request body too large.' },
          false,
        );
      }
      const apiKey = this.authenticate(header(req, 'authorization'));
      const route = this.router.match(method, url.pathname);
      if (!route) throw unrecognizedUrl(method, url.pathname);
      const params = decodeParams(
        method === 'POST' ? `${url.search.slice(1)}&${body}` : url.search,
      );
      const key = method === 'POST' ? header(req, 'idempotency-key') : undefined;
      const request: ApiRequest = {
        method,
        path: url.pathname,
        pathParams: route.pathParams,
        params,
        requestId: id,
        ...(key && { idempotencyKey: key }),
      };

      if (!key) return await this.execute(route.handler, request);
      const scope = `${apiKey} ${header(req, 'stripe-account') ?? ''}`;
      return await this.executeOnce(key, scope, route.handler, request, id);
    } catch (error) {
      return errorReply(error);
    }
  }

  private async executeOnce(
    key: string,
    scope: string,
    handler: Handler,
    request: ApiRequest,
    id: string,
  ): Promise<Reply> {
    if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
      throw idempotencyError(
        `Idempotency keys can be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters long, but you passed one that is ${key.length} characters.`,
      );
    }
    const endpoint = `${request.method} ${request.path}`;
    const claim = this.idempotency.claim(scope, key, endpoint, request.params.raw());
    switch (claim.outcome) {
      case 'replay':
        return { ...claim.response, replayable: true, originalRequest: claim.response.requestId };
      case 'in_use':
        throw idempotencyError(
          `There is currently another in-progress request using this idempotent key (that probably means you submitted twice, and the other request is still going through): ${key}. Please try again later.`,
          'idempotency_key_in_use',
          409,
        );
      case 'endpoint_mismatch':
        throw idempotencyError(
          `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${claim.endpoint}' vs '${endpoint}'). Try using a key other than '${key}' if you meant to execute a different request.`,
        );
      case 'params_mismatch':
        throw idempotencyError(
          `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
        );
      case 'claimed': {
        const reply = await this.execute(handler, request);
        if (reply.replayable) claim.save({ status: reply.status, body: reply.body, requestId: id });
        else claim.release();
        return reply;
      }
    }
  }

  private async execute(handler: Handler, request: ApiRequest): Promise<Reply> {
    const hold = this.holds.find((pending) => !pending.taken);
    if (hold) {
      hold.taken = true;
      hold.onReached();
      await hold.released;
      if (this.shutdown.signal.aborted) return errorReply(apiError(503));
    }
    if (this.delays.remaining > 0) {
      this.delays.remaining--;
      try {
        await sleep(this.delays.ms, undefined, { signal: this.shutdown.signal });
      } catch {
        return errorReply(apiError(503)); // stopped while waiting
      }
    }
    try {
      const expand = expandPaths(request.params);
      const { status, body } = await handler(request);
      const shaped = status < 300 ? expandResponse(body, expand, this.store) : body;
      return { status, body: json(shaped), replayable: status < 500 };
    } catch (error) {
      return errorReply(error);
    }
  }

  private authenticate(authorization: string | undefined): string {
    const key = apiKeyFrom(authorization);
    if (!key) throw missingApiKey();
    const valid =
      this.apiKey !== undefined
        ? key === this.apiKey
        : key.startsWith('sk_test_') && key.length > 'sk_test_'.length;
    if (!valid) throw invalidApiKey(key);
    return key;
  }

  /** The `/_stand_in/...` routes: the test hooks over HTTP, for a stand-in in another process. */
  private registerTestRoutes(): void {
    const list = (items: () => unknown[]) => () => ok(items());
    const done = (action: () => void) => () => {
      action();
      return ok({ ok: true });
    };
    this.testRouter
      .get(
        '/_stand_in/payment_intents',
        list(() => this.paymentIntents()),
      )
      .get(
        '/_stand_in/charges',
        list(() => this.charges()),
      )
      .get(
        '/_stand_in/refunds',
        list(() => this.refunds()),
      )
      .get(
        '/_stand_in/disputes',
        list(() => this.disputes()),
      )
      .get(
        '/_stand_in/events',
        list(() => this.events()),
      )
      .get(
        '/_stand_in/deliveries',
        list(() => this.deliveries()),
      )
      .post('/_stand_in/reset', () => {
        this.reset();
        return ok({ reset: true });
      })
      .post('/_stand_in/payment_intents/:intent/settle', ({ params, pathParams }) => {
        const outcome = params
          .allowOnly(['outcome'])
          .enumeration('outcome', ['succeeded', 'failed']);
        if (!outcome) throw invalidParam('outcome', 'Missing required param: outcome.');
        return ok(this.settle(pathParams['intent'], outcome));
      })
      .post('/_stand_in/events/:event/redeliver', ({ pathParams }) =>
        done(() => this.redeliver(pathParams['event']))(),
      )
      .post(
        '/_stand_in/webhooks/pause',
        done(() => this.pauseWebhooks()),
      )
      .post(
        '/_stand_in/webhooks/resume',
        done(() => this.resumeWebhooks()),
      )
      .post('/_stand_in/webhook', ({ params }) => {
        params.allowOnly(['url', 'secret', 'enabled_events']);
        const url = params.requiredString('url');
        const secret = params.requiredString('secret');
        const enabledEvents = params.stringArray('enabled_events');
        return done(() => this.setWebhook(url, secret, enabledEvents))();
      });
  }

  private async introspect(method: string, url: URL, body: string | undefined): Promise<Reply> {
    const route = this.testRouter.match(method, url.pathname);
    if (!route) return errorReply(unrecognizedUrl(method, url.pathname));
    try {
      const params = decodeParams(`${url.search.slice(1)}&${body ?? ''}`);
      const { status, body: result } = await route.handler({
        method,
        path: url.pathname,
        pathParams: route.pathParams,
        params,
        requestId: requestId(),
      });
      return { status, body: json(result), replayable: false };
    } catch (error) {
      // A test hook's own complaint (unknown PaymentIntent, wrong state) is the caller's error.
      if (!(error instanceof StripeApiError) && error instanceof Error) {
        return errorReply(
          new StripeApiError(400, { type: 'invalid_request_error', message: error.message }, false),
        );
      }
      return errorReply(error);
    }
  }

  private notifyIfIdle(): void {
    // Once stopping, nothing more will be delivered: waiting would never end.
    if (!this.shutdown.signal.aborted && !(this.followUps.idle && this.webhooks.idle)) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

function assertCount(n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`expected a request count, got ${n}`);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Stripe takes the key as a Bearer token or as the Basic auth user name (`curl -u sk_...:`). */
function apiKeyFrom(authorization: string | undefined): string | undefined {
  const [scheme = '', credentials = ''] = (authorization ?? '').trim().split(/\s+/, 2);
  if (/^bearer$/i.test(scheme)) return credentials || undefined;
  if (/^basic$/i.test(scheme)) {
    return Buffer.from(credentials, 'base64').toString('utf8').split(':')[0] || undefined;
  }
  return undefined;
}

function decodeParams(query: string): ParamReader {
  let params: FormObject;
  try {
    params = decodeForm(query);
  } catch (error) {
    if (error instanceof FormDecodeError) throw invalidParam(error.param, error.message);
    throw error;
  }
  return new ParamReader(params);
}

/** The body as text, or undefined when it is larger than Stripe would accept. */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  return size <= MAX_BODY_BYTES ? Buffer.concat(chunks).toString('utf8') : undefined;
}

// Stripe pretty-prints its JSON.
function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

function errorReply(error: unknown): Reply {
  if (!(error instanceof StripeApiError)) {
    console.error('stripe-stand-in: unexpected error', error);
    return errorReply(apiError(500));
  }
  return { status: error.status, body: json(error), replayable: error.replayable };
}
