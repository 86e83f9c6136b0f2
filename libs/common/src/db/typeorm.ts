import { CannotExecuteNotConnectedError, type EntityManager, type ValueTransformer } from 'typeorm';

/**
 * PostgreSQL `bigint` arrives from pg as a string. Amounts in this project stay far below 2^53
 * (Stripe caps a charge at eight digits), so they map to JS integers; anything else is a bug and
 * fails loudly instead of losing precision.
 */
export const bigintAsNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | null): number | null => (value === null ? null : bigintToNumber(value)),
};

/** A `bigint` column as pg returns it (text) in a row mapped by hand; see bigintAsNumber. */
export function bigintToNumber(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed)) throw new RangeError(`bigint ${value} is not a safe integer`);
  return parsed;
}

/** A statement PostgreSQL parses and plans once per connection, then only executes. */
export interface PreparedStatement {
  /** Unique per distinct SQL text (pg keys the prepared statement by it on each connection). */
  name: string;
  text: string;
}

interface PgQueryable {
  query(config: {
    name: string;
    text: string;
    values: unknown[];
  }): Promise<{ rows: Record<string, unknown>[] }>;
}

/**
 * Runs a hot-path statement as a named prepared statement through pg, on the transaction's
 * connection when `manager` belongs to one, otherwise on the pool. TypeORM's `query` sends every
 * statement unnamed, which PostgreSQL parses and plans each time; on the hottest reads that was
 * as much of the database's CPU as executing them.
 */
export async function queryPrepared<T>(
  manager: EntityManager,
  statement: PreparedStatement,
  values: unknown[],
): Promise<T[]> {
  const runner = manager.queryRunner as unknown as
    { databaseConnection?: PgQueryable; connect(): Promise<PgQueryable> } | undefined;
  const target = runner
    ? (runner.databaseConnection ?? (await runner.connect()))
    : (manager.connection.driver as unknown as { master?: PgQueryable }).master;
  // No pool: the data source is closed (shutting down), as TypeORM's own query would say.
  if (!target) throw new CannotExecuteNotConnectedError();
  const result = await target.query({ ...statement, values });
  return result.rows as T[];
}
