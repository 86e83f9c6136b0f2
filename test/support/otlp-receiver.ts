import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from './wait.js';

/** One span as exported over OTLP/JSON, flattened for assertions. */
export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  attributes: Record<string, unknown>;
  events: { name: string; attributes: Record<string, unknown> }[];
  links: { traceId: string; spanId: string }[];
  /** The resource of the process that exported it (service.name, service.version, ...). */
  resource: Record<string, unknown>;
}

/** One metric of one export, with the attributes of each of its data points. */
export interface ReceivedMetric {
  service: string;
  name: string;
  unit: string;
  type: 'sum' | 'gauge' | 'histogram' | 'exponentialHistogram' | 'summary';
  monotonic: boolean;
  points: Record<string, unknown>[];
  resource: Record<string, unknown>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: OtlpAttribute[];
  events?: { name: string; attributes?: OtlpAttribute[] }[];
  links?: { traceId: string; spanId: string }[];
}
interface OtlpTraces {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: { spans?: OtlpSpan[] }[];
  }[];
}
interface OtlpMetrics {
  resourceMetrics?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeMetrics?: { metrics?: OtlpMetric[] }[];
  }[];
}

type OtlpPoints = { dataPoints?: { attributes?: OtlpAttribute[] }[] };
interface OtlpMetric {
  name: string;
  unit?: string;
  sum?: OtlpPoints & { isMonotonic?: boolean };
  gauge?: OtlpPoints;
  histogram?: OtlpPoints;
  exponentialHistogram?: OtlpPoints;
  summary?: OtlpPoints;
}

const METRIC_TYPES = ['sum', 'gauge', 'histogram', 'exponentialHistogram', 'summary'] as const;

function attributes(list: OtlpAttribute[] = []): Record<string, unknown> {
  return Object.fromEntries(
    list.map(({ key, value }) => [
      key,
      value.stringValue ?? value.intValue ?? value.doubleValue ?? value.boolValue,
    ]),
  );
}

/**
 * A real OTLP/HTTP receiver (JSON encoding, as the SDK exports with
 * OTEL_EXPORTER_OTLP_PROTOCOL=http/json): it decodes the export requests of both services and
 * keeps every raw body, so tests can assert on traces and metrics and scan for secrets.
 */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly metricNames = new Map<string, Set<string>>();
  readonly metrics: ReceivedMetric[] = [];
  readonly rawBodies: string[] = [];
  private constructor(private readonly server: Server) {}

  static async start(): Promise<OtlpReceiver> {
    const server = createServer();
    const receiver = new OtlpReceiver(server);
    server.on('request', (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        receiver.rawBodies.push(body);
        try {
          if (request.url === '/v1/traces') receiver.addTraces(JSON.parse(body) as OtlpTraces);
          if (request.url === '/v1/metrics') receiver.addMetrics(JSON.parse(body) as OtlpMetrics);
          response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        } catch {
          response.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((span) => span.traceId === traceId);
  }

  /** Waits until `find` returns something, up to `timeoutMs`. */
  waitFor<T>(find: () => T | undefined, timeoutMs = 10_000): Promise<T> {
    return waitFor('the expected telemetry', find, { timeoutMs, intervalMs: 100 });
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private addTraces(body: OtlpTraces): void {
    for (const resourceSpans of body.resourceSpans ?? []) {
      const resource = attributes(resourceSpans.resource?.attributes);
      const service = String(resource['service.name']);
      for (const scope of resourceSpans.scopeSpans ?? []) {
        for (const span of scope.spans ?? []) {
          this.spans.push({
            service,
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId ?? '',
            name: span.name,
            kind: span.kind,
            attributes: attributes(span.attributes),
            events: (span.events ?? []).map((e) => ({
              name: e.name,
              attributes: attributes(e.attributes),
            })),
            links: (span.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
            resource,
          });
        }
      }
    }
  }

  private addMetrics(body: OtlpMetrics): void {
    for (const resourceMetrics of body.resourceMetrics ?? []) {
      const resource = attributes(resourceMetrics.resource?.attributes);
      const service = String(resource['service.name']);
      const names = this.metricNames.get(service) ?? new Set<string>();
      for (const scope of resourceMetrics.scopeMetrics ?? []) {
        for (const metric of scope.metrics ?? []) {
          names.add(metric.name);
          const type = METRIC_TYPES.find((t) => metric[t] !== undefined) ?? 'gauge';
          this.metrics.push({
            service,
            name: metric.name,
            unit: metric.unit ?? '',
            type,
            monotonic: metric.sum?.isMonotonic ?? false,
            points: (metric[type]?.dataPoints ?? []).map((point) => attributes(point.attributes)),
            resource,
          });
        }
      }
      this.metricNames.set(service, names);
    }
  }
}
