import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';

// ajv-formats is CommonJS: under ESM its function is the `default` of the module object.
const addFormats = ajvFormats.default;

interface OpenApiResponse {
  headers?: Record<string, { $ref: string }>;
  content?: Record<string, { schema: unknown }>;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, { responses: Record<string, OpenApiResponse> }>>;
  components: { headers: Record<string, { required?: boolean }> };
}

/** A response as a client received it, with the request that got it. */
export interface ObservedExchange {
  method: string;
  /** The request's path (a query is ignored). */
  url: string;
  status: number;
  headers: Headers;
  body: string;
}

const DOCUMENT_ID = 'openapi.json';

/**
 * Checks real answers against the committed OpenAPI document (docs/openapi.json, which
 * `npm run check` keeps equal to what the code renders): the operation must exist, list the
 * status and the content type, carry the headers it declares required, and the body must
 * validate against the response's schema (JSON Schema 2020-12, as OpenAPI 3.1 uses it).
 */
export class OpenApiContract {
  readonly document: OpenApiDocument;
  private readonly ajv: Ajv2020;
  /** `METHOD path-template status` of every answer checked. */
  readonly seen = new Set<string>();

  constructor(path = resolve('docs/openapi.json')) {
    this.document = JSON.parse(readFileSync(path, 'utf8')) as OpenApiDocument;
    // Not strict: the document carries OpenAPI keywords (example, examples) beside the schemas.
    this.ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(this.ajv);
    this.ajv.addSchema(this.document, DOCUMENT_ID);
  }

  /** Every documented `METHOD path-template`. */
  operations(): string[] {
    return Object.entries(this.document.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
  }

  /** The documented statuses of an operation. */
  statuses(operation: string): string[] {
    const [method, path] = operation.split(' ');
    return Object.keys(this.document.paths[path][method.toLowerCase()].responses);
  }

  /** The problems with an answer; empty when it is what the document says. */
  problemsWith(exchange: ObservedExchange): string[] {
    const path = new URL(exchange.url, 'http://localhost').pathname;
    const template = this.templateOf(path);
    const name = `${exchange.method} ${path} -> ${exchange.status}`;
    if (!template) return [`${name}: the document has no such path`];
    const operation = this.document.paths[template][exchange.method.toLowerCase()];
    if (!operation) return [`${name}: the document has no ${exchange.method} ${template}`];
    const response = operation.responses[String(exchange.status)];
    if (!response) return [`${name}: status ${exchange.status} is not documented`];
    this.seen.add(`${exchange.method} ${template} ${exchange.status}`);

    const problems: string[] = [];
    for (const [header, { $ref }] of Object.entries(response.headers ?? {})) {
      const declared = this.document.components.headers[$ref.split('/').pop()!];
      if (declared?.required && !exchange.headers.has(header)) {
        problems.push(`${name}: required header ${header} is missing`);
      }
    }
    const contentType = exchange.headers.get('content-type')?.split(';')[0].trim() ?? '';
    const content = response.content ?? {};
    if (!(contentType in content)) {
      problems.push(`${name}: content type ${contentType || '(none)'} is not documented`);
      return problems;
    }
    const pointer = [
      'paths',
      template,
      exchange.method.toLowerCase(),
      'responses',
      String(exchange.status),
      'content',
      contentType,
      'schema',
    ]
      .map((segment) => encodeURIComponent(segment.replaceAll('~', '~0').replaceAll('/', '~1')))
      .join('/');
    const validate = this.ajv.getSchema(`${DOCUMENT_ID}#/${pointer}`);
    if (!validate) return [...problems, `${name}: no schema at ${pointer}`];
    let body: unknown;
    try {
      body = JSON.parse(exchange.body);
    } catch {
      return [...problems, `${name}: the body is not JSON`];
    }
    if (!validate(body)) {
      problems.push(
        `${name}: ${this.ajv.errorsText(validate.errors)} in ${exchange.body.slice(0, 300)}`,
      );
    }
    return problems;
  }

  private templateOf(path: string): string | undefined {
    return Object.keys(this.document.paths).find((template) =>
      new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path),
    );
  }
}
