import type { DataSourceOptions } from 'typeorm';
import { type DatabasePoolSettings, poolOptions } from '#common/db/database-errors.js';
import type { MigrationTarget } from '#common/db/migrations.js';
import { Payment } from '../payments/payment.entity.js';
import { Refund } from '../refunds/refund.entity.js';
import { migrations } from './migrations/index.js';

/**
 * The payments database: schema from migrations only, applied before the pool opens (see
 * prepareSchema), never by TypeORM's own `migrationsRun`, which takes no lock.
 */
export function databaseOptions(
  database: { url: string } & DatabasePoolSettings,
): DataSourceOptions {
  return {
    type: 'postgres',
    url: database.url,
    entities: [Payment, Refund],
    migrations,
    migrationsRun: false,
    migrationsTransactionMode: 'each',
    synchronize: false,
    ...poolOptions(database),
    applicationName: 'payments',
  };
}

/** "pay" in ASCII. Fixed forever: every instance and release must take the same lock. */
const MIGRATIONS_LOCK_KEY = 0x706179;

/** What the start-up step and the migration scripts run against. */
export function migrationTarget(database: { url: string } & DatabasePoolSettings): MigrationTarget {
  return { service: 'payments', options: databaseOptions(database), lockKey: MIGRATIONS_LOCK_KEY };
}
