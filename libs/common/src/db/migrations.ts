import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource, type DataSourceOptions, MigrationExecutor, type QueryRunner } from 'typeorm';
import type { Logger } from '../runtime/logging.js';

/** A service's migrations: its data source options and the key of its migrations lock. */
export interface MigrationTarget {
  service: 'orders' | 'payments';
  options: DataSourceOptions;
  /**
   * Key of the PostgreSQL advisory lock held while migrations run or revert. Any constant works
   * as long as it is the same in every instance and release of the service; distinct per service
   * so two services sharing a database never wait on each other.
   */
  lockKey: number;
}

export interface MigrationStatus {
  /** Recorded in the database, oldest first (a newer release's migrations included). */
  applied: string[];
  /** In this build and not recorded, in the order they would run. */
  pending: string[];
}

/**
 * One dedicated connection to a service's database for its migrations. Running and reverting
 * happen under a session-level advisory lock taken on that same connection: instances starting
 * together queue on the lock and the ones after the first find nothing pending, and an instance
 * killed mid-migration loses its lock with its connection (its transaction rolls back).
 */
export class Migrations {
  private constructor(
    private readonly target: MigrationTarget,
    private readonly dataSource: DataSource,
    private readonly runner: QueryRunner,
    private readonly executor: MigrationExecutor,
  ) {}

  static async connect(target: MigrationTarget): Promise<Migrations> {
    const options = target.options;
    const dataSource = new DataSource({
      ...options,
      migrationsRun: false,
      extra: { ...(options.extra as object), max: 1 },
    });
    await dataSource.initialize();
    try {
      const runner = dataSource.createQueryRunner();
      await runner.connect();
      const executor = new MigrationExecutor(dataSource, runner);
      executor.transaction = options.migrationsTransactionMode ?? 'all';
      return new Migrations(target, dataSource, runner, executor);
    } catch (error) {
      await dataSource.destroy();
      throw error;
    }
  }

  async status(): Promise<MigrationStatus> {
    const applied = await this.executor.getExecutedMigrations();
    const pending = await this.executor.getPendingMigrations();
    return {
      applied: applied.map((m) => m.name).reverse(),
      pending: pending.map((m) => m.name),
    };
  }

  /** Applies every pending migration, each in its own transaction; returns their names. */
  async run(onWait?: () => void): Promise<string[]> {
    return this.locked(async () => {
      const executed = await this.executor.executePendingMigrations();
      return executed.map((m) => m.name);
    }, onWait);
  }

  /** Reverts the newest applied migration; returns its name, or undefined if none is applied. */
  async revertLast(onWait?: () => void): Promise<string | undefined> {
    return this.locked(async () => {
      const [newest] = await this.executor.getExecutedMigrations();
      if (newest === undefined) return undefined;
      await this.executor.undoLastMigration();
      return newest.name;
    }, onWait);
  }

  async close(): Promise<void> {
    await this.runner.release();
    await this.dataSource.destroy();
  }

  private async locked<T>(work: () => Promise<T>, onWait?: () => void): Promise<T> {
    const key = this.target.lockKey;
    const [{ acquired }] = (await this.runner.query(
      'SELECT pg_try_advisory_lock($1::bigint) AS acquired',
      [key],
    )) as [{ acquired: boolean }];
    if (!acquired) {
      onWait?.();
      await this.runner.query('SELECT pg_advisory_lock($1::bigint)', [key]);
    }
    try {
      return await work();
    } finally {
      // If the connection broke, the server already released the lock with the session; the
      // error that broke it is the one to report.
      await this.runner.query('SELECT pg_advisory_unlock($1::bigint)', [key]).catch(() => {});
    }
  }
}

/**
 * A start-up that finds migrations pending while migrate-on-start is off. The service refuses to
 * start rather than serve on an older schema than its code expects; it exits with EX_TEMPFAIL
 * (75): once the deploy's migration job has run, starting again succeeds.
 */
export class PendingMigrationsError extends Error {
  readonly exitCode = 75;

  constructor(service: MigrationTarget['service'], pending: string[]) {
    const variable = `${service.toUpperCase()}_MIGRATE_ON_START`;
    super(
      `${pending.length} migration(s) pending (${pending.join(', ')}) and ${variable}=false: ` +
        `apply them with \`npm run migration:run:${service}\` (the deploy's migration job), ` +
        `or set ${variable}=true`,
    );
    this.name = 'PendingMigrationsError';
  }
}

/** How long a starting service waits for its database, as TypeORM's own connection retry did. */
const CONNECT_ATTEMPTS = 10;
const CONNECT_RETRY_DELAY_MS = 3_000;

/**
 * The start-up step before the service opens its pool: with `migrateOnStart`, applies what is
 * pending under the lock and logs it once; without, checks that nothing is pending (see
 * PendingMigrationsError). A database that is not up yet is waited for, as before.
 */
export async function prepareSchema(
  target: MigrationTarget,
  migrateOnStart: boolean,
  logger: Logger,
): Promise<void> {
  const migrations = await connectWithRetry(target, logger);
  try {
    if (!migrateOnStart) {
      const { pending } = await migrations.status();
      if (pending.length > 0) throw new PendingMigrationsError(target.service, pending);
      logger.info('Migrations: none pending (migrate-on-start is off)');
      return;
    }
    const applied = await migrations.run(() =>
      logger.info('Migrations: another instance holds the migrations lock; waiting for it'),
    );
    logger.info(
      applied.length > 0 ? `Migrations: applied ${applied.join(', ')}` : 'Migrations: none pending',
    );
  } finally {
    await migrations.close();
  }
}

async function connectWithRetry(target: MigrationTarget, logger: Logger): Promise<Migrations> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await Migrations.connect(target);
    } catch (error) {
      if (attempt >= CONNECT_ATTEMPTS) throw error;
      logger.warn(
        `Database not reachable (${(error as Error).message}); ` +
          `retrying in ${CONNECT_RETRY_DELAY_MS} ms (${attempt}/${CONNECT_ATTEMPTS - 1})`,
      );
      await sleep(CONNECT_RETRY_DELAY_MS);
    }
  }
}
