import type Stripe from 'stripe';

/** Stripe's v1 error envelope; the SDK picks its error class from `type` and the HTTP status. */
export interface StripeErrorBody {
  type: 'api_error' | 'card_error' | 'idempotency_error' | 'invalid_request_error';
  message: string;
  code?: string;
  decline_code?: string;
  param?: string;
  doc_url?: string;
  /** The failed Charge (card errors). */
  charge?: string;
  /** The PaymentIntent the request concerned, as it is after the request (as Stripe adds it). */
  payment_intent?: Stripe.PaymentIntent;
  payment_method?: Stripe.PaymentMethod;
}

export class StripeApiError extends Error {
  readonly body: StripeErrorBody;

  /**
   * @param replayable whether an idempotent retry gets this response back. Stripe saves a result
   * only once the endpoint has started executing, so parameter validation failures and outages
   * can be retried with the same key.
   */
  constructor(
    readonly status: number,
    body: Omit<StripeErrorBody, 'doc_url'>,
    readonly replayable = true,
  ) {
    super(body.message);
    this.body = body.code ? { ...body, doc_url: docUrl(body.code) } : body;
  }

  toJSON(): { error: StripeErrorBody } {
    return { error: this.body };
  }
}

export function docUrl(code: string): string {
  return `https://stripe.com/docs/error-codes/${code.replaceAll('_', '-')}`;
}

export function invalidParam(param: string, message: string, code?: string): StripeApiError {
  return new StripeApiError(400, { type: 'invalid_request_error', message, param, code }, false);
}

/** 404 for an object named in the URL; Stripe answers 400 for one named by a parameter. */
export function resourceMissing(
  object: string,
  id: string,
  param: string,
  status = 404,
): StripeApiError {
  return new StripeApiError(status, {
    type: 'invalid_request_error',
    code: 'resource_missing',
    param,
    message: `No such ${object}: '${id}'`,
  });
}

export function unrecognizedUrl(method: string, path: string): StripeApiError {
  return new StripeApiError(
    404,
    {
      type: 'invalid_request_error',
      message: `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
    },
    false,
  );
}

export function missingApiKey(): StripeApiError {
  return new StripeApiError(
    401,
    {
      type: 'invalid_request_error',
      message:
        "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
    },
    false,
  );
}

export function invalidApiKey(key: string): StripeApiError {
  return new StripeApiError(
    401,
    { type: 'invalid_request_error', message: `Invalid API Key provided: ${redact(key)}` },
    false,
  );
}

/** Like Stripe: keep the `sk_test_` prefix and the last four characters. */
function redact(key: string): string {
  const prefix = /^[a-z]{2,4}_(?:test|live)_/.exec(key)?.[0] ?? '';
  const tail = key.length - prefix.length > 4 ? key.slice(-4) : '';
  return prefix + '*'.repeat(key.length - prefix.length - tail.length) + tail;
}

export function apiError(status: number): StripeApiError {
  return new StripeApiError(
    status,
    { type: 'api_error', message: 'An unknown error occurred' },
    false,
  );
}

export function idempotencyError(message: string, code?: string, status = 400): StripeApiError {
  return new StripeApiError(status, { type: 'idempotency_error', message, code }, false);
}

/** A request that is valid but not in the object's current state; Stripe saves its outcome. */
export function invalidRequest(
  message: string,
  extra: Omit<StripeErrorBody, 'type' | 'message' | 'doc_url'> = {},
): StripeApiError {
  return new StripeApiError(400, { type: 'invalid_request_error', message, ...extra });
}

/** `payment_intent_unexpected_state`, with the PaymentIntent in the error as Stripe sends it. */
export function unexpectedState(message: string, intent: Stripe.PaymentIntent): StripeApiError {
  return invalidRequest(message, {
    code: 'payment_intent_unexpected_state',
    payment_intent: structuredClone(intent),
  });
}
