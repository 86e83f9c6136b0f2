import {
  type CanActivate,
  type ExecutionContext,
  Injectable,
  Req,
  Res,
  SetMetadata,
  UseGuards,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply } from 'fastify';
import type { AuthenticatedRequest } from '../auth/jwt-auth.guard.js';
import type { StoredResponse } from './idempotency-record.entity.js';
import { idempotencyKeyOf } from './idempotency-key.decorator.js';
import type { Checkpoint, IdempotencyService, Outcome } from './idempotency.service.js';

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

/** A controller with keyed routes holds the service that stores and replays their answers. */
export interface KeyedController {
  readonly idempotency: IdempotencyService;
}

/** The key each request brought, once IdempotencyKeyGuard has checked it. */
const keys = new WeakMap<object, string>();

/**
 * Makes a POST route a keyed write (docs/api.md, "Idempotency keys"; see IdempotencyService): its
 * answer, the route's status with the returned view as JSON, is stored under the key and
 * replayed for a repeat of the request. The order of the checks is the contract's: guards
 * (authentication, roles) first, then the key (IdempotencyKeyGuard, before any pipe), then the
 * input (the route's pipes), and only then is the key claimed, so a request refused on any of
 * them never uses its key up.
 *
 * Not an interceptor: Nest runs interceptors through RxJS, which cost a replay a fifth of its
 * throughput (docs/performance.md). The handler is wrapped instead, and given the request and
 * the reply as two parameters of its own, after those it declares.
 */
export function Idempotent<View>(
  options: IdempotentOptions<View> = {},
): (target: KeyedController, method: string, descriptor: PropertyDescriptor) => void {
  return (target, method, descriptor) => {
    const handler = descriptor.value as (...args: unknown[]) => KeyedWork<View>;
    const at = handler.length;
    // `length` stops at a parameter with a default: the request would take that parameter's place.
    const declared = (Reflect.getMetadata('design:paramtypes', target, method) as unknown[]).length;
    if (declared !== at) {
      throw new Error(`@Idempotent() ${method}: give its parameters no default values`);
    }
    async function keyedWrite(this: KeyedController, ...args: unknown[]): Promise<string> {
      const request = args[at] as AuthenticatedRequest;
      const reply = args[at + 1] as FastifyReply;
      // What Nest set for the route before the handler runs: 201 for a POST, or its @HttpCode.
      const status = reply.statusCode;
      const work = handler.apply(this, args.slice(0, at));
      const outcome = await this.idempotency.execute(
        {
          customerId: options.owner ?? ownerOf(request),
          key: keys.get(request)!,
          method: request.method,
          path: routePath(request),
          body: request.body,
        },
        async (checkpoint) => answer(status, await work(checkpoint), options.location),
      );
      return send(reply, outcome);
    }
    // Metadata the decorators applied before this one left on the handler (e.g. @HttpCode).
    for (const key of Reflect.getMetadataKeys(handler) as unknown[]) {
      Reflect.defineMetadata(key, Reflect.getMetadata(key, handler), keyedWrite);
    }
    descriptor.value = keyedWrite;
    Req()(target, method, at);
    Res({ passthrough: true })(target, method, at + 1);
    SetMetadata(IDEMPOTENT, options)(target, method, descriptor);
    UseGuards(IdempotencyKeyGuard)(target, method, descriptor);
  };
}

/** Checks the key of a keyed route after authentication and before the route's pipes. */
@Injectable()
export class IdempotencyKeyGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const options = this.reflector.get<IdempotentOptions<unknown>>(
      IDEMPOTENT,
      context.getHandler(),
    );
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    keys.set(request, idempotencyKeyOf(request, options.header));
    return true;
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
