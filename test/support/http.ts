import { request as httpRequest } from 'node:http';
import { randomUUID } from 'node:crypto';
import { expect } from '@jest/globals';
import { OpenApiContract } from './openapi-contract.js';
import { waitFor } from './wait.js';

export interface OrderBody {
  id: string;
  status: string;
  currency: string;
  amount: number;
  items: { sku: string; name: string; quantity: number; unitAmount: number }[];
  payment: { id: string; status: string; clientSecret: string | null } | null;
  createdAt: string;
  updatedAt: string;
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  errors?: { field: string; message: string }[];
}

export const cart = {
  currency: 'USD',
  items: [
    { sku: 'TSHIRT-M', name: 'T-shirt', quantity: 2, unitAmount: 1500 },
    { sku: 'MUG', name: 'Mug “Café”', quantity: 1, unitAmount: 899 },
  ],
};

let contract: OpenApiContract | undefined;

/**
 * Fails unless the answer is one docs/openapi.json describes for the request (status, content
 * type, required headers, body schema): the suites' helpers check the document as they go.
 */
export async function expectDocumented(
  method: string,
  path: string,
  response: Response,
): Promise<void> {
  contract ??= new OpenApiContract();
  const exchange = {
    method,
    url: path,
    status: response.status,
    headers: response.headers,
    body: await response.clone().text(),
  };
  expect(contract.problemsWith(exchange)).toEqual([]);
}

/**
 * POSTs an order as a storefront does: bearer token, JSON, an Idempotency-Key. The answer must be
 * one the OpenAPI document lists.
 */
export async function postOrder(
  baseUrl: string,
  token: string,
  options: { key?: string | null; body?: unknown } = {},
): Promise<Response> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
  };
  const key = options.key === undefined ? randomUUID() : options.key;
  if (key !== null) headers['idempotency-key'] = key;
  const response = await fetch(`${baseUrl}/api/v1/orders`, {
    method: 'POST',
    headers,
    body: JSON.stringify(options.body ?? cart),
  });
  await expectDocumented('POST', '/api/v1/orders', response);
  return response;
}

/** Checks a problem+json answer and returns its body. */
export async function expectProblem(
  response: Response,
  status: number,
  type: string,
): Promise<ProblemBody> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const text = await response.text();
  expect(text).not.toMatch(/\bat .+\.(ts|js):\d+|node_modules|QueryFailedError|stack/i);
  const problem = JSON.parse(text) as ProblemBody;
  expect(problem).toMatchObject({ type, status, instance: expect.any(String) });
  expect(problem.title).toEqual(expect.any(String));
  expect(problem.detail).toEqual(expect.any(String));
  return problem;
}

/** Repeats a request until it stops answering 503, for up to ten seconds. */
export function eventually(send: () => Promise<Response>): Promise<Response> {
  return waitFor(
    'an answer other than 503',
    async () => {
      const response = await send();
      return response.status === 503 ? undefined : response;
    },
    { intervalMs: 100 },
  );
}

/**
 * Sends the headers exactly as listed, a repeated one included (fetch would merge repeats into
 * one "a, b" header), and answers as fetch does.
 */
export function sendHeaders(
  url: string,
  init: { method: 'GET' | 'POST'; headers: [string, string][]; body?: string },
): Promise<Response> {
  const target = new URL(url);
  const headers: [string, string][] = [['host', target.host], ...init.headers];
  if (init.body !== undefined) {
    headers.push(['content-length', String(Buffer.byteLength(init.body))]);
  }
  return new Promise((resolve, reject) => {
    const request = httpRequest(target, { method: init.method, headers: headers.flat() });
    request.on('error', reject).on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject).on('end', () => {
        const received = new Headers();
        for (let i = 0; i < response.rawHeaders.length; i += 2) {
          received.append(response.rawHeaders[i], response.rawHeaders[i + 1]);
        }
        const body = Buffer.concat(chunks).toString();
        resolve(new Response(body, { status: response.statusCode, headers: received }));
      });
    });
    request.end(init.body);
  });
}
