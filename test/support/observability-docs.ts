import { readFileSync } from 'node:fs';
import type { ReceivedMetric } from './otlp-receiver.js';

/** What docs/observability.md promises an SRE will find. */
export interface ObservabilityDocs {
  /** Backticked operation names: `POST /api/v1/orders`, `grpc.<service>/<Method>`, `Class.method`. */
  spanNames: string[];
  /** The rows of its metrics table: OTLP name, Prometheus name, attribute names. */
  metrics: { name: string; prometheus: string; labels: string[] }[];
  /** The PromQL queries of its promql blocks, one a line, comments left out. */
  queries: string[];
}

const SPAN_NAME = [
  /^(GET|POST|PUT|PATCH|DELETE) \/\S*$/,
  /^grpc\.[\w.]+\/\w+$/,
  /^[A-Z]\w*(Service|Repository|Client|Gateway|Relay)\.\w+$/,
];

/** Reads docs/observability.md, all of it: every name on the page is a promise. */
export function readObservabilityDocs(
  path = new URL('../../docs/observability.md', import.meta.url),
): ObservabilityDocs {
  const page = readFileSync(path, 'utf8');
  const backticked = (text: string) => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]);

  const prose = page.replace(/```[\s\S]*?```/g, '');
  const spanNames = [
    ...new Set(backticked(prose).filter((name) => SPAN_NAME.some((re) => re.test(name)))),
  ];

  const metrics = page
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const [name, prometheus, labels] = line.split('|').slice(1).map(backticked);
      return { name: name[0], prometheus: prometheus[0], labels };
    });

  const queries = [...page.matchAll(/```promql\n([\s\S]*?)```/g)]
    .flatMap((block) => block[1].split('\n'))
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));

  return { spanNames, metrics, queries };
}

const UNIT_SUFFIXES: Record<string, string> = { s: 'seconds', ms: 'milliseconds', By: 'bytes' };

/**
 * The name the collector's prometheus exporter gives a metric: dots as underscores, the unit as a
 * suffix (`{...}` annotations dropped, `1` as `ratio` on gauges), `_total` on monotonic sums.
 */
export function prometheusName(
  metric: Pick<ReceivedMetric, 'name' | 'unit' | 'type' | 'monotonic'>,
): string {
  let name = metric.name.replace(/[^a-zA-Z0-9_]/g, '_');
  const unit = metric.unit.startsWith('{') ? '' : metric.unit;
  let suffix = '';
  if (unit === '1') suffix = metric.type === 'gauge' ? 'ratio' : '';
  else if (unit) {
    suffix = UNIT_SUFFIXES[unit];
    if (!suffix) throw new Error(`${metric.name}: no Prometheus suffix known for unit ${unit}`);
  }
  if (suffix && !name.endsWith(`_${suffix}`)) name += `_${suffix}`;
  if (metric.type === 'sum' && metric.monotonic) name += '_total';
  return name;
}

const PROMQL_WORDS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'count',
  'topk',
  'bottomk',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'offset',
  'bool',
  'rate',
  'irate',
  'increase',
  'delta',
  'deriv',
  'histogram_quantile',
  'abs',
  'clamp_min',
  'clamp_max',
  'avg_over_time',
  'max_over_time',
  'min_over_time',
]);

/** The metric and label names a PromQL query uses (string literals and ranges left out). */
export function promqlNames(query: string): string[] {
  const bare = query.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\[[^\]]*\]/g, '');
  return [...bare.matchAll(/[a-zA-Z_][a-zA-Z0-9_]*/g)]
    .map((m) => m[0])
    .filter((word) => !PROMQL_WORDS.has(word));
}
