import type { DataSourceOptions } from 'typeorm';
import { type DatabasePoolSettings, poolOptions } from '#common/db/database-errors.js';
import type { MigrationTarget } from '#common/db/migrations.js';
import { IdempotencyRecord } from '../idempotency/idempotency-record.entity.js';
import { OrderItem } from '../orders/order-item.entity.js';
import { Order } from '../orders/order.entity.js';
import { migrations } from './migrations/index.js';

/**
 * The orders database: schema from migrations only, applied before the pool opens (see
 * prepareSchema), never by TypeORM's own `migrationsRun`, which takes no lock.
 */
export function databaseOptions(
  database: { url: string } & DatabasePoolSettings,
): DataSourceOptions {
  return {
    type: 'postgres',
    url: database.url,
    entities: [Order, OrderItem, IdempotencyRecord],
    migrations,
    migrationsRun: false,
    migrationsTransactionMode: 'each',
    synchronize: false,
    ...poolOptions(database),
    applicationName: 'orders',
  };
}

/** "ord" in ASCII. Fixed forever: every instance and release must take the same lock. */
const MIGRATIONS_LOCK_KEY = 0x6f7264;

/** What the start-up step and the migration scripts run against. */
export function migrationTarget(database: { url: string } & DatabasePoolSettings): MigrationTarget {
  return { service: 'orders', options: databaseOptions(database), lockKey: MIGRATIONS_LOCK_KEY };
}
