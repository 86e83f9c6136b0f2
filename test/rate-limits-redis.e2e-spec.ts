import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Redis } from 'ioredis';
import { createTestDatabase, type TestDatabase } from '#testing/database.js';
import { freePort } from '#testing/ports.js';
import { expectProblem, postOrder } from './support/http.js';
import { redisForTests, TEST_REDIS_URL } from './support/redis.js';
import { Stack, startTestOrders, tokenFor } from './support/stack.js';

const REDIS_URL = TEST_REDIS_URL;
const LIMITS = { RATE_LIMIT_DEFAULT_LIMIT: '4', RATE_LIMIT_CHECKOUT_LIMIT: '2' };

// Skips without a Redis, except in CI, where it fails (see redisForTests).
const reachable = await redisForTests();
const describeWithRedis = reachable ? describe : describe.skip;

describeWithRedis(
  reachable
    ? 'rate limits shared through Redis'
    : `rate limits shared through Redis (skipped: no Redis answers at ${new URL(REDIS_URL).host}; set TEST_REDIS_URL)`,
  () => {
    const prefix = `test:rate-limit:${randomUUID()}:`;
    let stack: Stack;
    let second: NestFastifyApplication;
    let secondUrl: string;
    let redis: Redis;

    beforeAll(async () => {
      const env = { ...LIMITS, REDIS_URL, RATE_LIMIT_KEY_PREFIX: prefix };
      stack = await Stack.start({ orders: env });
      const [httpPort, grpcPort] = await Promise.all([freePort(), freePort()]);
      second = await startTestOrders({
        httpPort,
        grpcPort,
        databaseUrl: stack.ordersDb.url,
        paymentsUrl: stack.paymentsGrpcUrl,
        env,
      });
      secondUrl = `http://127.0.0.1:${httpPort}`;
      redis = new Redis(REDIS_URL);
    });

    afterAll(async () => {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
      await second?.close();
      await stack?.stop();
    });

    it("shares a customer's read budget between two instances", async () => {
      const token = await tokenFor(`cus_${randomUUID()}`);
      const urls = [stack.ordersUrl, secondUrl];
      const read = (i: number) =>
        fetch(`${urls[i % 2]}/api/v1/orders`, { headers: { authorization: `Bearer ${token}` } });
      for (let i = 0; i < 4; i++) expect((await read(i)).status).toBe(200);
      // Each instance alone has seen only 2 of the 4 allowed requests.
      await expectProblem(await read(4), 429, '/problems/rate-limited');
      await expectProblem(await read(5), 429, '/problems/rate-limited');
      expect(await redis.keys(`${prefix}*`)).not.toHaveLength(0);
    });

    it('shares the checkout budget between two instances', async () => {
      const token = await tokenFor(`cus_${randomUUID()}`);
      expect((await postOrder(stack.ordersUrl, token)).status).toBe(201);
      expect((await postOrder(secondUrl, token)).status).toBe(201);
      const refused = await postOrder(stack.ordersUrl, token);
      await expectProblem(refused, 429, '/problems/rate-limited');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(refused.headers.get('ratelimit')).toMatch(/"checkout";r=0;t=\d+/);
    });
  },
);

describe('rate limits when Redis is unreachable', () => {
  let database: TestDatabase;
  let orders: NestFastifyApplication;
  let ordersUrl: string;

  beforeAll(async () => {
    const [httpPort, grpcPort, deadRedis, deadPayments] = await Promise.all(
      [1, 2, 3, 4].map(() => freePort()),
    );
    database = await createTestDatabase('orders');
    orders = await startTestOrders({
      httpPort,
      grpcPort,
      databaseUrl: database.url,
      paymentsUrl: `127.0.0.1:${deadPayments}`,
      env: { ...LIMITS, REDIS_URL: `redis://127.0.0.1:${deadRedis}` },
    });
    ordersUrl = `http://127.0.0.1:${httpPort}`;
  });

  afterAll(async () => {
    await orders?.close();
    await database?.drop();
  });

  it("keeps serving, and still limits, with this instance's memory counters (fails open)", async () => {
    const token = await tokenFor(`cus_${randomUUID()}`);
    const read = () =>
      fetch(`${ordersUrl}/api/v1/orders`, { headers: { authorization: `Bearer ${token}` } });
    for (let i = 0; i < 4; i++) {
      const response = await read();
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit')).toMatch(
        new RegExp(`^"default";r=${3 - i};t=\\d+$`),
      );
    }
    await expectProblem(await read(), 429, '/problems/rate-limited');
  });
});
