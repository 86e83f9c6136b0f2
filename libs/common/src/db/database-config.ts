import { env } from '../config/config.js';

type DatabaseValues<P extends string> = Record<`${P}_DATABASE_URL`, string> &
  Record<`${P}_DATABASE_POOL_SIZE` | `${P}_DATABASE_CONNECT_TIMEOUT_MS`, number> &
  Record<`${P}_MIGRATE_ON_START`, boolean>;

/** A service's database, as its configuration holds it. */
export interface DatabaseSettings {
  url: string;
  poolSize: number;
  connectTimeoutMs: number;
  migrateOnStart: boolean;
}

/**
 * `<P>_DATABASE_URL`, `_DATABASE_POOL_SIZE`, `_DATABASE_CONNECT_TIMEOUT_MS` and
 * `<P>_MIGRATE_ON_START` of the service P: each service has its own database.
 */
export function databaseVariables<P extends string>(prefix: P) {
  return {
    [`${prefix}_DATABASE_URL`]: env.postgresUrl(),
    [`${prefix}_DATABASE_POOL_SIZE`]: env.positiveInt(10),
    [`${prefix}_DATABASE_CONNECT_TIMEOUT_MS`]: env.positiveInt(5_000),
    // Off for a fleet whose deploy runs the migrations as a job (docs/operations.md, "Migrations").
    [`${prefix}_MIGRATE_ON_START`]: env.boolean(true),
  } as {
    [K in `${P}_DATABASE_URL`]: ReturnType<typeof env.postgresUrl>;
  } & {
    [K in `${P}_DATABASE_POOL_SIZE` | `${P}_DATABASE_CONNECT_TIMEOUT_MS`]: ReturnType<
      typeof env.positiveInt
    >;
  } & { [K in `${P}_MIGRATE_ON_START`]: ReturnType<typeof env.boolean> };
}

export function databaseSettings<P extends string>(
  prefix: P,
  value: DatabaseValues<P>,
): DatabaseSettings {
  // The parameter's type guarantees each key and its type; TypeScript cannot index the
  // intersection of template-literal keys by a generic prefix.
  const values: Record<string, unknown> = value;
  return {
    url: values[`${prefix}_DATABASE_URL`] as string,
    poolSize: values[`${prefix}_DATABASE_POOL_SIZE`] as number,
    connectTimeoutMs: values[`${prefix}_DATABASE_CONNECT_TIMEOUT_MS`] as number,
    migrateOnStart: values[`${prefix}_MIGRATE_ON_START`] as boolean,
  };
}
