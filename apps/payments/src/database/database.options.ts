import type { DataSourceOptions } from 'typeorm';
import { Payment } from '../payments/payment.entity.js';
import { Refund } from '../refunds/refund.entity.js';
import { migrations } from './migrations/index.js';

/** The payments database: schema from migrations only, applied at start-up. */
export function databaseOptions(database: { url: string; poolSize: number }): DataSourceOptions {
  return {
    type: 'postgres',
    url: database.url,
    entities: [Payment, Refund],
    migrations,
    migrationsRun: true,
    migrationsTransactionMode: 'each',
    synchronize: false,
    extra: { max: database.poolSize },
    applicationName: 'payments',
  };
}
