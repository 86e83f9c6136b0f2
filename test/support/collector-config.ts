import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

type Mapping = Record<string, unknown>;

const KEEP_RESOURCE_KEYS = /^keep_keys\(resource\.attributes, (\[.*\])\)$/;

/**
 * The resource attributes otel-collector-config.yaml keeps on metrics (its metrics pipeline's
 * transform processors' `keep_keys(resource.attributes, [...])`), which the prometheus exporter
 * turns into labels; undefined when no processor prunes them.
 */
export function keptResourceAttributes(
  path = new URL('../../otel-collector-config.yaml', import.meta.url),
): string[] | undefined {
  const config = parse(readFileSync(path, 'utf8')) as Mapping;
  const pipelines = (config.service as Mapping).pipelines as Mapping;
  const ids = ((pipelines.metrics as Mapping).processors as string[]) ?? [];
  const processors = config.processors as Mapping;
  let kept: string[] | undefined;
  for (const id of ids.filter((id) => id.split('/')[0] === 'transform')) {
    const statements = ((processors[id] as Mapping).metric_statements as unknown[]) ?? [];
    for (const statement of statements) {
      const match = typeof statement === 'string' ? KEEP_RESOURCE_KEYS.exec(statement) : null;
      if (match) kept = JSON.parse(match[1]) as string[];
    }
  }
  return kept;
}

/** A Prometheus label name as the collector's prometheus exporter writes an attribute's name. */
export const labelName = (attribute: string) => attribute.replace(/[^a-zA-Z0-9_]/g, '_');
