import { type PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { DomainError, type FieldError } from './errors.js';

/** Renders a zod issue path the way clients write it: `items[0].quantity`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out ? `.${String(segment)}` : String(segment);
  }
  return out || '(body)';
}

export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const fields: FieldError[] = result.error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({
          field: fieldPath([...issue.path, key]),
          message: 'is not an accepted field',
        }))
      : [{ field: fieldPath(issue.path), message: issue.message }],
  );
  throw DomainError.validation(fields);
}

/** Validates a request part against a zod schema; failures are 422 problems listing each field. */
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(private readonly schema: S) {}

  transform(value: unknown): z.infer<S> {
    return parseOrThrow(this.schema, value);
  }
}
