import { DataSource } from 'typeorm';
import { databaseOptions } from './database.options.js';

/**
 * For the TypeORM CLI (`npx typeorm migration:show -d dist/apps/orders/src/database/data-source.js`);
 * the service itself builds its connection from the validated config.
 */
export default new DataSource(
  databaseOptions({ url: process.env.ORDERS_DATABASE_URL ?? '', poolSize: 1 }),
);
