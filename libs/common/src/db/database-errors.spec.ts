import { randomBytes } from 'node:crypto';
import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
  jest,
} from '@jest/globals';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { Logger } from '@nestjs/common';
import { lastValueFrom } from 'rxjs';
import pg from 'pg';
import { DataSource, QueryFailedError } from 'typeorm';
import { freePort } from '#testing/ports.js';
import {
  DATABASE_OUTAGE_LOG_WINDOW_MS,
  DatabaseOutageLog,
  isTransientDatabaseError,
} from './database-errors.js';
import { DomainError } from '../errors.js';
import { GrpcErrorFilter, grpcStatusOf } from '../grpc/status.js';
import { problemHeaders, toProblem } from '../http/problem.filter.js';
import { queryPrepared } from './typeorm.js';

const adminUrl = () => {
  const url = process.env.TEST_PG_ADMIN_URL;
  if (!url) throw new Error('TEST_PG_ADMIN_URL is not set; run the tests through jest.');
  return url;
};

/** What a real operation failed with. */
async function failure(operation: () => Promise<unknown>): Promise<unknown> {
  try {
    await operation();
  } catch (error) {
    return error;
  }
  throw new Error('the operation was expected to fail');
}

/** A connected client whose backend another connection can terminate. */
async function connectedClient(): Promise<{ client: pg.Client; pid: number }> {
  const client = new pg.Client({ connectionString: adminUrl() });
  // A terminated backend makes the client emit 'error'; unhandled, it would end the test run.
  client.on('error', () => {});
  await client.connect();
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return { client, pid: rows[0].pid };
}

/** The pool's only connection; its own acquire may time out on a busy machine: try again. */
async function holdConnection(pool: pg.Pool): Promise<pg.PoolClient> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await pool.connect();
    } catch (error) {
      if (attempt === 10) throw error;
    }
  }
}

async function terminate(pid: number): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
  } finally {
    await admin.end();
  }
}

describe(isTransientDatabaseError.name, () => {
  describe('real errors from pg and TypeORM', () => {
    it('a refused connection (nothing listens on the port)', async () => {
      const port = await freePort();
      for (const host of ['127.0.0.1', 'localhost']) {
        const client = new pg.Client({ host, port, user: 'postgres', database: 'postgres' });
        const error = await failure(() => client.connect());
        expect(isTransientDatabaseError(error)).toBe(true);
      }
    });

    it('a pool that has no connection to give within its acquire timeout', async () => {
      const pool = new pg.Pool({
        connectionString: adminUrl(),
        max: 1,
        connectionTimeoutMillis: 200,
      });
      const held = await holdConnection(pool);
      try {
        const error = await failure(() => pool.query('SELECT 1'));
        expect((error as Error).message).toMatch(/timeout/);
        expect(isTransientDatabaseError(error)).toBe(true);
      } finally {
        held.release();
        await pool.end();
      }
    });

    it('a statement running when its backend is terminated (57P01), and the client afterwards', async () => {
      const { client, pid } = await connectedClient();
      const running = failure(() => client.query('SELECT pg_sleep(30)'));
      await new Promise((resolve) => setTimeout(resolve, 100));
      await terminate(pid);
      const error = await running;
      expect((error as { code?: string }).code).toBe('57P01');
      expect(isTransientDatabaseError(error)).toBe(true);

      const after = await failure(() => client.query('SELECT 1'));
      expect(isTransientDatabaseError(after)).toBe(true);
      await client.end().catch(() => {});
    });

    it('an idle client whose backend was terminated', async () => {
      const { client, pid } = await connectedClient();
      const ended = new Promise((resolve) => client.once('end', resolve));
      await terminate(pid);
      await ended;
      const error = await failure(() => client.query('SELECT 1'));
      expect(isTransientDatabaseError(error)).toBe(true);
    });

    it('too many connections (53300)', async () => {
      const role = `transient_${randomBytes(6).toString('hex')}`;
      const admin = new pg.Client({ connectionString: adminUrl() });
      await admin.connect();
      try {
        await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${role}' CONNECTION LIMIT 0`);
        const url = new URL(adminUrl());
        url.username = role;
        url.password = role;
        const client = new pg.Client({ connectionString: url.href });
        const error = await failure(() => client.connect());
        expect((error as { code?: string }).code).toBe('53300');
        expect(isTransientDatabaseError(error)).toBe(true);
      } finally {
        await admin.query(`DROP ROLE IF EXISTS ${role}`);
        await admin.end();
      }
    });

    describe('through TypeORM', () => {
      let db: DataSource;

      beforeAll(async () => {
        db = new DataSource({
          type: 'postgres',
          url: adminUrl(),
          extra: { max: 1 },
          // The pool's idle client dies with its backend; without a handler TypeORM logs it.
          poolErrorHandler: () => {},
        });
        await db.initialize();
      });

      afterAll(async () => {
        if (db.isInitialized) await db.destroy();
      });

      it('refused statements are not transient', async () => {
        const syntax = await failure(() => db.query('SELEC 1'));
        expect(syntax).toBeInstanceOf(QueryFailedError);
        expect(isTransientDatabaseError(syntax)).toBe(false);
        const unique = await failure(() =>
          db.query(`CREATE TEMP TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (1)`),
        );
        expect((unique as { code?: string }).code).toBe('23505');
        expect(isTransientDatabaseError(unique)).toBe(false);
      });

      it('a QueryFailedError whose driver error is a terminated backend', async () => {
        const runner = db.createQueryRunner();
        try {
          const rows = (await runner.query('SELECT pg_backend_pid() AS pid')) as { pid: number }[];
          const { pid } = rows[0];
          const running = failure(() => runner.query('SELECT pg_sleep(30)'));
          await new Promise((resolve) => setTimeout(resolve, 100));
          await terminate(pid);
          const error = await running;
          expect(error).toBeInstanceOf(QueryFailedError);
          expect(isTransientDatabaseError(error)).toBe(true);
        } finally {
          await runner.release();
        }
      });

      it('a data source that is not connected (yet, or any more, as on shutdown)', async () => {
        const closed = new DataSource({ type: 'postgres', url: adminUrl() });
        expect(isTransientDatabaseError(await failure(() => closed.destroy()))).toBe(true);
        await closed.initialize();
        await closed.destroy();
        const afterwards = await failure(() => closed.query('SELECT 1'));
        expect(isTransientDatabaseError(afterwards)).toBe(true);
        const prepared = await failure(() =>
          queryPrepared(closed.manager, { name: 'transient-spec', text: 'SELECT 1' }, []),
        );
        expect(isTransientDatabaseError(prepared)).toBe(true);
      });
    });
  });

  it.each([
    ['the database system is shutting down', '57P03'],
    ['the database system is in recovery mode', '57P03'],
    ['terminating connection due to crash of another server process', '57P02'],
    ['connection failure', '08006'],
    ['out of memory', '53200'],
  ])('"%s" (%s)', (message, code) => {
    expect(isTransientDatabaseError(Object.assign(new Error(message), { code }))).toBe(true);
  });

  it.each([
    ['a defect', new TypeError("Cannot read properties of undefined (reading 'id')")],
    [
      'a statement canceled by its timeout',
      Object.assign(new Error('canceling'), { code: '57014' }),
    ],
    ['a dropped database', Object.assign(new Error('dropped'), { code: '57P04' })],
    ['a serialization failure', Object.assign(new Error('serialize'), { code: '40001' })],
    ['nothing', undefined],
    ['a string', 'ECONNRESET'],
  ])('not %s', (_, error) => {
    expect(isTransientDatabaseError(error)).toBe(false);
  });

  it('leaves a DomainError as its code says, whatever its cause', () => {
    const cause = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    expect(isTransientDatabaseError(new DomainError('conflict', 'no', [], { cause }))).toBe(false);
    expect(isTransientDatabaseError(new Error('wrapped', { cause }))).toBe(true);
  });
});

describe('answering a transient database error', () => {
  const lost = () => Object.assign(new Error('Connection terminated unexpectedly'), {});
  let warnings: string[];
  let errors: string[];

  beforeEach(() => {
    warnings = [];
    errors = [];
    Logger.overrideLogger({
      log: () => {},
      warn: (message: unknown) => void warnings.push(String(message)),
      error: (message: unknown) => void errors.push(String(message)),
    });
  });

  afterEach(() => {
    Logger.overrideLogger(true);
  });

  it('is a 503 problem with a Retry-After, not a 500, and logs no error', () => {
    const error = lost();
    const problem = toProblem(error, '/api/v1/orders');
    expect(problem).toMatchObject({ status: 503, type: '/problems/unavailable' });
    expect(problem.detail).not.toMatch(/terminated/);
    expect(problemHeaders(error, problem)['retry-after']).toBe('1');
    expect(errors).toEqual([]);
  });

  it('is UNAVAILABLE on gRPC', async () => {
    const filter = new GrpcErrorFilter();
    const sent = await failure(() => lastValueFrom(filter.catch(lost(), undefined as never)));
    expect(sent).toMatchObject({ code: GrpcStatus.UNAVAILABLE });
    expect(grpcStatusOf(lost())).toBe(GrpcStatus.UNAVAILABLE);
    expect(errors).toEqual([]);
  });

  it('every 503 carries a Retry-After, also one whose error names no delay', () => {
    const error = new DomainError('unavailable', 'payments is unavailable');
    expect(problemHeaders(error, toProblem(error, '/x'))['retry-after']).toBe('1');
  });

  it('a defect is still a 500, logged as an error', () => {
    const problem = toProblem(new TypeError('x is undefined'), '/x');
    expect(problem.status).toBe(500);
    expect(errors).toEqual(['x is undefined']);
  });
});

describe(DatabaseOutageLog.name, () => {
  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('logs the first failure of a window at once and the rest as one line when it ends', () => {
    const lines: string[] = [];
    const log = new DatabaseOutageLog({ warn: (line: string) => void lines.push(line) });
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
      code: 'ECONNREFUSED',
    });
    const shutdown = Object.assign(new Error('the database system is shutting down'), {
      code: '57P03',
    });
    log.record(shutdown);
    for (let i = 0; i < 500; i++) log.record(refused);
    log.record(shutdown);
    expect(lines).toEqual([
      expect.stringMatching(
        /^Database unavailable \(57P03: the database system is shutting down\)/,
      ),
    ]);

    jest.advanceTimersByTime(DATABASE_OUTAGE_LOG_WINDOW_MS);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe(
      'Database unavailable: 501 more operations failed in the last 10 s (ECONNREFUSED: 500, 57P03: 1)',
    );

    log.record(refused);
    expect(lines).toHaveLength(3);
    jest.advanceTimersByTime(DATABASE_OUTAGE_LOG_WINDOW_MS);
    expect(lines).toHaveLength(3);
    expect(jest.getTimerCount()).toBe(0);
  });
});
