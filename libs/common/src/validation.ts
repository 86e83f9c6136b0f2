import { type PipeTransform } from '@nestjs/common';
import { z } from 'zod';
import { DomainError, type FieldError } from './errors.js';
import { isUuid } from './uuid.js';

/** Renders a zod issue path the way clients write it: `items[0].quantity`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out ? `.${String(segment)}` : String(segment);
  }
  return out || '(body)';
}

/**
 * Characters that have no place in a name, a reason or a code: control characters (C0, DEL, C1),
 * format characters (bidirectional overrides and isolates U+202A-U+202E and U+2066-U+2069, marks,
 * zero-width spaces and joiners, the BOM), line and paragraph separators, and lone surrogates
 * (which no UTF-8 encoder can write). They hide or reorder what an operator or a customer reads.
 */
const UNSAFE_CHARACTERS = /[\p{Cc}\p{Cf}\p{Cs}\u2028\u2029]/u;

/** Whether a text holds a character that only disguises it (see UNSAFE_CHARACTERS). */
export function hasUnsafeCharacters(value: string): boolean {
  return UNSAFE_CHARACTERS.test(value);
}

/** A human-readable text field: a string of `min` to `max` characters, none of them unsafe. */
export function plainText({ min = 1, max }: { min?: number; max: number }) {
  return z
    .string({ error: 'must be a string' })
    .min(min, min === 1 ? 'must not be empty' : `must be at least ${min} characters`)
    .max(max, `must be at most ${max} characters`)
    .refine(
      (value) => !hasUnsafeCharacters(value),
      'must not contain control, invisible or direction-changing characters',
    );
}

/**
 * What an identifier a peer chooses may be here: an idempotency key (as the IETF draft allows it)
 * or a customer id (a token's `sub`). 1 to 255 visible ASCII characters, so it travels unchanged
 * as an HTTP header or gRPC metadata value.
 */
export const VISIBLE_ASCII_ID = /^[\x21-\x7e]{1,255}$/;

/** A UUID (see isUuid). */
export function uuidString() {
  return z
    .string({ error: 'must be a UUID' })
    .refine(isUuid, 'must be a UUID')
    .meta({ format: 'uuid' });
}

/** More field errors than this add nothing for the client, only bytes and work. */
export const MAX_FIELD_ERRORS = 50;

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
  throw DomainError.validation(fields.slice(0, MAX_FIELD_ERRORS));
}

/** Validates a request part against a zod schema; failures are 422 problems listing each field. */
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(private readonly schema: S) {}

  transform(value: unknown): z.infer<S> {
    return parseOrThrow(this.schema, value);
  }
}
