import {
  applyDecorators,
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
  SetMetadata,
  UseInterceptors,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply } from 'fastify';
import { lastValueFrom, type Observable, of } from 'rxjs';
import type { AuthenticatedRequest } from '../auth/jwt-auth.guard.js';
import type { StoredResponse } from './idempotency-record.entity.js';
import { idempotencyKeyOf } from './idempotency-key.decorator.js';
import { type Checkpoint, IdempotencyService, type Outcome } from './idempotency.service.js';

/**
 * What an `@Idempotent()` handler returns: the work, not its result, so that it runs only once
 * the key is claimed (a repeat gets the stored answer instead and runs nothing).
 */
export type KeyedWork<View> = (checkpoint: Checkpoint) => Promise<View>;

export interface IdempotentOptions<View> {
  /** The header carrying the key; `Idempotency-Key` unless a peer's convention differs. */
  header?: string;
  /** Whose keys these are, for a caller that is not a principal (keys are per owner). */
  owner?: string;
  /** The `Location` of what the work created. */
  location?: (view: View) => string;
}

const IDEMPOTENT = Symbol('idempotent');

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * Makes a POST route a keyed write (docs/api.md, "Idempotency keys"; see IdempotencyService): its
 * answer, the route's status with the returned view as JSON, is stored under the key and
 * replayed for a repeat of the request. The route must not use `@Res()`.
 */
export function Idempotent<View>(options: IdempotentOptions<View> = {}): MethodDecorator {
  return applyDecorators(SetMetadata(IDEMPOTENT, options), UseInterceptors(IdempotencyInterceptor));
}

/**
 * The order of the checks is the contract's: guards (authentication, rate limits) first, then the
 * key, then the input (the route's pipes), and only then is the key claimed, so a request refused
 * on any of them never uses its key up.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor<KeyedWork<unknown>, string> {
  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly reflector: Reflector,
  ) {}

  async intercept(
    context: ExecutionContext,
    next: CallHandler<KeyedWork<unknown>>,
  ): Promise<Observable<string>> {
    const options = this.reflector.get<IdempotentOptions<unknown>>(
      IDEMPOTENT,
      context.getHandler(),
    );
    const http = context.switchToHttp();
    const request = http.getRequest<AuthenticatedRequest>();
    const reply = http.getResponse<FastifyReply>();
    // What Nest set for the route before interceptors run: 201 for a POST, or its @HttpCode.
    const status = reply.statusCode;
    const key = idempotencyKeyOf(request, options.header);
    // The route's pipes validate the input; the handler hands back its work without running it.
    const work = await lastValueFrom(next.handle());
    const outcome = await this.idempotency.execute(
      {
        customerId: options.owner ?? ownerOf(request),
        key,
        method: request.method,
        path: routePath(request),
        body: request.body,
      },
      async (checkpoint) => answer(status, await work(checkpoint), options.location),
    );
    return of(send(reply, outcome));
  }
}

function answer<View>(
  status: number,
  view: View,
  location?: (view: View) => string,
): StoredResponse {
  const headers: Record<string, string> = { 'content-type': JSON_CONTENT_TYPE };
  if (location) headers.location = location(view);
  return { status, headers, body: JSON.stringify(view) };
}

/** Sets a keyed request's status and headers exactly as stored (replays say so); the body to send. */
function send(reply: FastifyReply, { response, replayed }: Outcome): string {
  void reply.status(response.status).headers(response.headers);
  if (replayed) void reply.header('idempotent-replayed', 'true');
  return response.body;
}

/** Keys belong to the authenticated principal (set by JwtAuthGuard): a customer, or an admin. */
function ownerOf(request: AuthenticatedRequest): string {
  if (!request.principal) throw new Error('@Idempotent() used on a route without JwtAuthGuard');
  return request.principal.subject;
}

/**
 * The path the fingerprint and a stored problem's `instance` name: the route's template with the
 * parameters as the handler gets them (decoded), without the query string.
 */
function routePath(request: AuthenticatedRequest): string {
  const params = request.params as Record<string, string>;
  return request.routeOptions.url!.replace(/:(\w+)/g, (_, name: string) => params[name]);
}
