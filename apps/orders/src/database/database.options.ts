import type { DataSourceOptions } from 'typeorm';
import { type DatabasePoolSettings, poolOptions } from '#common/database-errors.js';
import { IdempotencyRecord } from '../idempotency/idempotency-record.entity.js';
import { OrderItem } from '../orders/order-item.entity.js';
import { Order } from '../orders/order.entity.js';
import { migrations } from './migrations/index.js';

/** The orders database: schema from migrations only, applied at start-up. */
export function databaseOptions(
  database: { url: string } & DatabasePoolSettings,
): DataSourceOptions {
  return {
    type: 'postgres',
    url: database.url,
    entities: [Order, OrderItem, IdempotencyRecord],
    migrations,
    migrationsRun: true,
    migrationsTransactionMode: 'each',
    synchronize: false,
    ...poolOptions(database),
    applicationName: 'orders',
  };
}
