import type { ValueTransformer } from 'typeorm';

/**
 * PostgreSQL `bigint` arrives from pg as a string. Amounts in this project stay far below 2^53
 * (Stripe caps a charge at eight digits), so they map to JS integers; anything else is a bug and
 * fails loudly instead of losing precision.
 */
export const bigintAsNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | null): number | null => {
    if (value === null) return null;
    const parsed = Number(value);
    if (!Number.isSafeInteger(parsed))
      throw new RangeError(`bigint ${value} is not a safe integer`);
    return parsed;
  },
};

/** PostgreSQL's unique_violation, raised by the constraints that guard identity. */
export const UNIQUE_VIOLATION = '23505';

export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const driverError = error as { code?: string; constraint?: string } | undefined;
  return (
    driverError?.code === UNIQUE_VIOLATION &&
    (constraint === undefined || driverError.constraint === constraint)
  );
}
