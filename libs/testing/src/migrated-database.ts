import { DataSource } from 'typeorm';
import { type MigrationTarget, Migrations } from '#common/db/migrations.js';
import { createTestDatabase } from './database.js';

export interface MigratedDatabase {
  url: string;
  /** An open pool on the database, as the service's own (its entities, its options). */
  dataSource: DataSource;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

/**
 * A fresh database on the test server with every migration of a service applied, for
 * repository specs: the real schema and the real statements, without booting the service.
 */
export async function createMigratedDatabase(
  prefix: string,
  target: (url: string) => MigrationTarget,
): Promise<MigratedDatabase> {
  const database = await createTestDatabase(prefix);
  try {
    const migrations = await Migrations.connect(target(database.url));
    await migrations.run().finally(() => migrations.close());
    const dataSource = await new DataSource(target(database.url).options).initialize();
    return {
      url: database.url,
      dataSource,
      drop: async () => {
        await dataSource.destroy();
        await database.drop();
      },
    };
  } catch (error) {
    await database.drop();
    throw error;
  }
}
