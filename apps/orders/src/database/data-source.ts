import { DataSource } from 'typeorm';
import { databaseOptions } from './database.options.js';

/**
 * For the TypeORM CLI (`npx typeorm migration:generate -d dist/apps/orders/src/database/data-source.js`);
 * the service itself builds its connection from the validated config. Apply and revert with
 * `npm run migration:run:orders` / `migration:revert:orders`: the CLI's own run takes no lock and
 * can race starting instances.
 */
export default new DataSource(
  databaseOptions({ url: process.env.ORDERS_DATABASE_URL ?? '', poolSize: 1 }),
);
