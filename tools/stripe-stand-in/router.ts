import type { ParamReader } from './params.js';

export interface ApiRequest {
  method: string;
  path: string;
  /** Decoded `:name` segments of the route template. */
  pathParams: Record<string, string>;
  params: ParamReader;
  /** The `Request-Id` this request is answered with. */
  requestId: string;
  idempotencyKey?: string;
}

export interface ApiResponse {
  status: number;
  body: unknown;
}

export type Handler = (request: ApiRequest) => ApiResponse | Promise<ApiResponse>;

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: Handler;
}

export function ok(body: unknown): ApiResponse {
  return { status: 200, body };
}

export class Router {
  private readonly routes: Route[] = [];

  get(template: string, handler: Handler): this {
    return this.add('GET', template, handler);
  }

  post(template: string, handler: Handler): this {
    return this.add('POST', template, handler);
  }

  match(
    method: string,
    path: string,
  ): { handler: Handler; pathParams: Record<string, string> } | undefined {
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const match = route.pattern.exec(path);
      if (!match) continue;
      const pathParams: Record<string, string> = {};
      try {
        route.names.forEach((name, i) => (pathParams[name] = decodeURIComponent(match[i + 1])));
      } catch {
        return undefined; // malformed percent-encoding
      }
      return { handler: route.handler, pathParams };
    }
    return undefined;
  }

  private add(method: string, template: string, handler: Handler): this {
    const names: string[] = [];
    const source = template
      .split('/')
      .map((segment) => {
        if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        names.push(segment.slice(1));
        return '([^/]+)';
      })
      .join('/');
    this.routes.push({ method, pattern: new RegExp(`^${source}$`), names, handler });
    return this;
  }
}
