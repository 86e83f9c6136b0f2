import type { DataSourceOptions } from 'typeorm';
import { type DatabasePoolSettings, poolOptions } from './database-errors.js';
import type { MigrationTarget } from './migrations.js';

type PostgresOptions = Extract<DataSourceOptions, { type: 'postgres' }>;

export interface ServiceDatabaseDefinition {
  service: MigrationTarget['service'];
  entities: NonNullable<PostgresOptions['entities']>;
  migrations: NonNullable<PostgresOptions['migrations']>;
  /** The migrations lock's key (see MigrationTarget): fixed forever once released. */
  lockKey: number;
}

type DatabaseConnection = { url: string } & DatabasePoolSettings;

/**
 * A service's own database: its data source options, with the schema from migrations only,
 * applied before the pool opens (see prepareSchema), never by TypeORM's own `migrationsRun`, which
 * takes no lock; and what the start-up step and the migration scripts run against.
 */
export function serviceDatabase({
  service,
  entities,
  migrations,
  lockKey,
}: ServiceDatabaseDefinition) {
  const options = (database: DatabaseConnection): DataSourceOptions => ({
    type: 'postgres',
    url: database.url,
    entities,
    migrations,
    migrationsRun: false,
    migrationsTransactionMode: 'each',
    synchronize: false,
    ...poolOptions(database),
    applicationName: service,
  });
  return {
    options,
    migrationTarget: (database: DatabaseConnection): MigrationTarget => ({
      service,
      options: options(database),
      lockKey,
    }),
  };
}
