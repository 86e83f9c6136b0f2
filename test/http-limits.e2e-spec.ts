import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { exportSPKI, generateKeyPair } from 'jose';
import { cart } from './support/http.js';
import { ProcessStack } from './support/process-stack.js';
import type { ServiceProcess } from './support/service-process.js';
import { Stack, tokenFor } from './support/stack.js';
import { waitFor } from './support/wait.js';

/**
 * A TCP connection to a service, byte by byte as a slow or hostile client holds one: what the
 * server sent, and how long after opening it closed the connection.
 */
class RawConnection {
  /** Every connection a test opened, destroyed after it: an open one would stall app.close(). */
  static readonly opened = new Set<RawConnection>();
  received = '';
  /** Milliseconds from opening to the server's close (or a reset). */
  readonly closed: Promise<number>;

  private constructor(
    private readonly socket: Socket,
    readonly openedAt: number,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (this.received += chunk));
    // Writes after the server's close fail with EPIPE or ECONNRESET: the close is what is tested.
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once('close', () => resolve(Date.now() - openedAt)),
    );
    RawConnection.opened.add(this);
  }

  static destroyAll(): void {
    for (const connection of RawConnection.opened) connection.destroy();
    RawConnection.opened.clear();
  }

  static async open(url: string): Promise<RawConnection> {
    const { hostname, port } = new URL(url);
    const socket = connect({ host: hostname, port: Number(port) });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawConnection(socket, Date.now());
  }

  get isClosed(): boolean {
    return this.socket.destroyed;
  }

  write(text: string): void {
    if (!this.socket.destroyed) this.socket.write(text);
  }

  /** Sends `text` a byte every `everyMs` until the server closes the connection. */
  trickle(text: string, everyMs: number): void {
    let next = 0;
    const timer = setInterval(() => this.write(text[next++ % text.length]), everyMs);
    void this.closed.then(() => clearInterval(timer));
  }

  /** A keep-alive GET of `path`, resolved with the response's status line and headers. */
  async get(path: string): Promise<string> {
    const from = this.received.length;
    this.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    const head = () => {
      const text = this.received.slice(from);
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return undefined;
      const length = Number(/^content-length: (\d+)/im.exec(text)?.[1] ?? 0);
      return text.length >= end + 4 + length ? text.slice(0, end) : undefined;
    };
    return (await this.within(2_000, head)) ?? `(no response; closed: ${this.isClosed})`;
  }

  /** The close, in ms after opening, or undefined if the connection is still open after `ms`. */
  async closedWithin(ms: number): Promise<number | undefined> {
    const timeout = new Promise<undefined>((resolve) =>
      setTimeout(() => resolve(undefined), ms).unref(),
    );
    return Promise.race([this.closed, timeout]);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private async within<T>(ms: number, value: () => T | undefined): Promise<T | undefined> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = value();
      if (found !== undefined || this.isClosed || Date.now() > deadline) return found;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

const REQUEST_TIMEOUT_MS = 2_000;
const HEADERS_TIMEOUT_MS = 1_000;
const KEEP_ALIVE_TIMEOUT_MS = 1_000;
/** Node checks timeouts every tenth of the shorter one; the rest is a loaded machine's slack. */
const LATENESS_MS = 700;

/** The body a trickling client declares: at a byte every 100 ms it would take 100 minutes. */
const DECLARED_BODY_BYTES = 60_000;

const routes = {
  orders: { method: 'POST', path: '/api/v1/orders' },
  payments: { method: 'POST', path: '/webhooks/stripe' },
} as const;

afterEach(() => RawConnection.destroyAll());

describe('HTTP timeouts against slow clients (end to end)', () => {
  let stack: Stack;
  let token: string;

  beforeAll(async () => {
    const env = {
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      HTTP_KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_TIMEOUT_MS),
    };
    stack = await Stack.start({ orders: env, payments: env });
    token = await tokenFor('customer-slow-body');
  });

  afterAll(() => stack?.stop());

  const url = (name: 'orders' | 'payments') =>
    name === 'orders' ? stack.ordersUrl : stack.paymentsUrl;

  it.each(['orders', 'payments'] as const)(
    '%s answers a body trickled a byte at a time with 408 and closes at the request timeout',
    async (name) => {
      const connection = await RawConnection.open(url(name));
      const { method, path } = routes[name];
      connection.write(
        `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n` +
          // payments reads a webhook's body only under a well-formed, fresh signature header.
          `Stripe-Signature: t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${DECLARED_BODY_BYTES}\r\n\r\n`,
      );
      connection.trickle(' ', 100);

      const closedAfter = await connection.closedWithin(REQUEST_TIMEOUT_MS + 5_000);
      expect(connection.received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
      expect(connection.received).toMatch(/\r\nContent-Type: application\/problem\+json\r\n/);
      expect(connection.received).toContain('"type":"/problems/request-timeout"');
      expect(closedAfter).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS);
      expect(closedAfter).toBeLessThan(REQUEST_TIMEOUT_MS + LATENESS_MS);
    },
  );

  it.each(['orders', 'payments'] as const)(
    '%s answers headers trickled a byte at a time with 408 at the headers timeout',
    async (name) => {
      const connection = await RawConnection.open(url(name));
      connection.write('GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      connection.trickle('X-Slow: 1\r\n', 100);

      const closedAfter = await connection.closedWithin(REQUEST_TIMEOUT_MS + 5_000);
      expect(connection.received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
      expect(closedAfter).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS);
      // Well before the request timeout: the headers have their own, shorter one.
      expect(closedAfter).toBeLessThan(HEADERS_TIMEOUT_MS + LATENESS_MS);
    },
  );

  it.each(['orders', 'payments'] as const)(
    '%s announces its keep-alive timeout and closes an idle connection after it',
    async (name) => {
      const connection = await RawConnection.open(url(name));
      const head = await connection.get('/health/live');
      expect(head).toMatch(/^HTTP\/1\.1 200 /);
      expect(head).toMatch(/^Keep-Alive: timeout=1\r?$/im);
      const answeredAt = Date.now();

      const closedAfter = await connection.closedWithin(KEEP_ALIVE_TIMEOUT_MS + 5_000);
      expect(closedAfter).toBeDefined();
      const idleMs = connection.openedAt + closedAfter! - answeredAt;
      // Node keeps the socket up to a second past the announced timeout, for requests in flight.
      expect(idleMs).toBeGreaterThanOrEqual(KEEP_ALIVE_TIMEOUT_MS);
      expect(idleMs).toBeLessThan(KEEP_ALIVE_TIMEOUT_MS + 1_000 + LATENESS_MS);
    },
  );

  it('still serves a client whose body takes longer than the headers timeout, within the request timeout', async () => {
    const connection = await RawConnection.open(stack.ordersUrl);
    const body = JSON.stringify(cart);
    connection.write(
      `POST /api/v1/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n` +
        `Idempotency-Key: ${randomUUID()}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`,
    );
    const half = Math.floor(body.length / 2);
    await new Promise((resolve) => setTimeout(resolve, HEADERS_TIMEOUT_MS * 1.2));
    connection.write(body.slice(0, half));
    await new Promise((resolve) => setTimeout(resolve, 200));
    connection.write(body.slice(half));

    expect(await connection.closedWithin(10_000)).toBeDefined();
    expect(connection.received).toMatch(/^HTTP\/1\.1 201 Created\r\n/);
  });
});

const MAX_CONNECTIONS = 4;

describe('HTTP connection cap (end to end)', () => {
  let stack: Stack;

  beforeAll(async () => {
    const env = { HTTP_MAX_CONNECTIONS: String(MAX_CONNECTIONS) };
    stack = await Stack.start({ orders: env, payments: env });
  });

  afterAll(() => stack?.stop());

  /** A new connection's fate: the status line of its first request, or 'closed at once'. */
  async function fate(url: string): Promise<string> {
    const connection = await RawConnection.open(url);
    const head = await connection.get('/health/live');
    if (head.startsWith('HTTP/1.1')) return head.split('\r\n')[0];
    return connection.isClosed && connection.received === '' ? 'closed at once' : head;
  }

  it.each(['orders', 'payments'] as const)(
    '%s closes connections beyond the cap at once, keeps serving those under it, and takes new ones as others close',
    async (name) => {
      const url = name === 'orders' ? stack.ordersUrl : stack.paymentsUrl;
      const under = await Promise.all(
        Array.from({ length: MAX_CONNECTIONS }, () => RawConnection.open(url)),
      );
      for (const connection of under) {
        expect(await connection.get('/health/live')).toMatch(/^HTTP\/1\.1 200 /);
      }

      const beyond = await RawConnection.open(url);
      expect(await beyond.closedWithin(1_000)).toBeDefined();
      expect(beyond.received).toBe('');

      for (const connection of under) {
        expect(await connection.get('/health/live')).toMatch(/^HTTP\/1\.1 200 /);
      }

      under[0].destroy();
      under[1].destroy();
      await Promise.all([under[0].closed, under[1].closed]);
      // The server counts a connection out once it has seen the close, a moment after the client:
      // until then a new one is closed at once (and so counts for nothing).
      const first = await waitFor('a connection under the cap again', async () => {
        const answer = await fate(url);
        return answer === 'closed at once' ? undefined : answer;
      });
      expect([first, await fate(url), await fate(url)]).toEqual([
        'HTTP/1.1 200 OK',
        'HTTP/1.1 200 OK',
        'closed at once',
      ]);
    },
  );
});

/** Both services' production settings (each service's own credentials, none of the development ones). */
async function productionEnv(extra: NodeJS.ProcessEnv = {}) {
  const { publicKey } = await generateKeyPair('ES256');
  const ordersToPayments = 'orders-to-payments-production-token-0123456789';
  const paymentsToOrders = 'payments-to-orders-production-token-0123456789';
  const common = { NODE_ENV: 'production', SHUTDOWN_DRAIN_DELAY_MS: '0', ...extra };
  return {
    orders: {
      ...common,
      JWT_PUBLIC_KEY: await exportSPKI(publicKey),
      JWT_ISSUER: 'https://id.example.com/',
      JWT_AUDIENCE: 'orders-api',
      ORDERS_GRPC_INBOUND_TOKENS: `payments=${paymentsToOrders}`,
      PAYMENTS_GRPC_TOKEN: ordersToPayments,
    },
    payments: {
      ...common,
      STRIPE_SECRET_KEY: 'sk_test_production_boot',
      STRIPE_ALLOW_INSECURE_API_URL: 'true',
      STRIPE_WEBHOOK_SECRET: 'whsec_production_boot_0123456789',
      PAYMENTS_GRPC_INBOUND_TOKENS: `orders=${ordersToPayments}`,
      ORDERS_GRPC_TOKEN: paymentsToOrders,
    },
  };
}

/** The service's JSON log lines whose message contains `text`. */
function linesWith(service: ServiceProcess, text: string): { level: string; msg: string }[] {
  return service.output
    .split('\n')
    .filter((line) => line.includes(text))
    .map((line) => JSON.parse(line) as { level: string; msg: string });
}

const PROXY_WARNING = 'TRUSTED_PROXIES is empty';

describe('HTTP boot log lines (separate processes, production)', () => {
  let stack: ProcessStack | undefined;

  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  it('warns in both services that TRUSTED_PROXIES is empty, and logs the connection cap', async () => {
    stack = await ProcessStack.start(await productionEnv({ HTTP_MAX_CONNECTIONS: '321' }));
    for (const service of [stack.orders, stack.payments]) {
      expect({ service: service.name, lines: linesWith(service, PROXY_WARNING) }).toEqual({
        service: service.name,
        lines: [expect.objectContaining({ level: 'warn' })],
      });
      expect(linesWith(service, 'HTTP server: at most')).toEqual([
        expect.objectContaining({
          level: 'info',
          msg: expect.stringMatching(
            /^HTTP server: at most 321 connections \(HTTP_MAX_CONNECTIONS\)/,
          ),
        }),
      ]);
    }
  });

  it('does not warn when TRUSTED_PROXIES lists the proxies', async () => {
    stack = await ProcessStack.start(await productionEnv({ TRUSTED_PROXIES: '10.0.0.0/8' }));
    for (const service of [stack.orders, stack.payments]) {
      expect(linesWith(service, 'HTTP server: at most')).toHaveLength(1);
      expect({ service: service.name, warnings: linesWith(service, PROXY_WARNING) }).toEqual({
        service: service.name,
        warnings: [],
      });
    }
  });
});
