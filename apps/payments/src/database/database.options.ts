import type { DataSourceOptions } from 'typeorm';
import { type DatabasePoolSettings, poolOptions } from '#common/database-errors.js';
import { Payment } from '../payments/payment.entity.js';
import { Refund } from '../refunds/refund.entity.js';
import { migrations } from './migrations/index.js';

/** The payments database: schema from migrations only, applied at start-up. */
export function databaseOptions(
  database: { url: string } & DatabasePoolSettings,
): DataSourceOptions {
  return {
    type: 'postgres',
    url: database.url,
    entities: [Payment, Refund],
    migrations,
    migrationsRun: true,
    migrationsTransactionMode: 'each',
    synchronize: false,
    ...poolOptions(database),
    applicationName: 'payments',
  };
}
