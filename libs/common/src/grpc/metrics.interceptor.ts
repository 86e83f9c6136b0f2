import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { type Observable, tap } from 'rxjs';
import { Metadata } from '@grpc/grpc-js';
import { recordRpcDuration } from '#observability/rpc-metrics.js';
import { annotate } from '#observability/spans.js';
import { CALLER_METADATA } from './auth.js';
import { grpcStatusOf } from './status.js';

/**
 * Records `rpc.server.duration` for every gRPC handler of the service, and puts the caller the
 * service-auth interceptor identified on the server span (`rpc.caller`).
 */
@Injectable()
export class GrpcMetricsInterceptor implements NestInterceptor {
  constructor(private readonly service: string) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'rpc') return next.handle();
    const metadata: unknown = context.switchToRpc().getContext();
    const [caller] = metadata instanceof Metadata ? metadata.get(CALLER_METADATA) : [];
    if (typeof caller === 'string') annotate({ 'rpc.caller': caller });
    const started = performance.now();
    const method = context.getHandler().name;
    const record = (statusCode: number) =>
      recordRpcDuration('server', (performance.now() - started) / 1000, {
        service: this.service,
        method: method.charAt(0).toUpperCase() + method.slice(1),
        statusCode,
      });
    return next.handle().pipe(
      tap({
        next: () => record(0),
        error: (error: unknown) => record(grpcStatusOf(error)),
      }),
    );
  }
}
