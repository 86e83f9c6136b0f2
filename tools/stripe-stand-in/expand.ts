import { invalidRequest } from './errors.js';
import type { ParamReader } from './params.js';
import type { Store } from './store.js';

/** Stripe expands at most four levels deep (`a.b.c.d`). */
const MAX_DEPTH = 4;

type Kind = 'payment_intent' | 'charge';

/**
 * The expandable fields the stand-in can resolve, by object type: the ones that name an object it
 * holds. Stripe expands more (customers, payment methods, balance transactions), which the
 * stand-in does not keep; asking for those is refused as Stripe refuses a field that is not
 * expandable, rather than answered with an id where the caller expects an object.
 */
const EXPANDABLE: Record<string, Record<string, Kind>> = {
  payment_intent: { latest_charge: 'charge' },
  charge: { payment_intent: 'payment_intent' },
  refund: { charge: 'charge', payment_intent: 'payment_intent' },
  dispute: { charge: 'charge', payment_intent: 'payment_intent' },
};

type Json = Record<string, unknown>;

/**
 * The `expand[]` paths of a request, checked before the request runs (as Stripe checks them, so a
 * bad path changes nothing): at most four levels, each field one that some object can expand.
 */
export function expandPaths(params: ParamReader): string[][] {
  const known = new Set(['data', ...Object.values(EXPANDABLE).flatMap(Object.keys)]);
  return (params.stringArray('expand') ?? []).map((path) => {
    const fields = path.split('.');
    if (fields.length > MAX_DEPTH) {
      throw invalidRequest(
        `You cannot expand more than ${MAX_DEPTH} levels of a property. Property: ${path}`,
      );
    }
    if (!fields.every((field) => known.has(field))) throw notExpandable(path);
    return fields;
  });
}

/**
 * Applies the paths to a response body as Stripe does: each replaces the id at its end with the
 * object it names (`latest_charge`, `latest_charge.payment_intent`, `data.charge` in lists), a null
 * field stays null, and a path through a field this object cannot expand is a 400. Works on a
 * copy: the stored objects keep their ids.
 */
export function expandResponse(body: unknown, paths: string[][], store: Store): unknown {
  if (paths.length === 0 || !isObject(body)) return body;
  const expanded = structuredClone(body);
  for (const fields of paths) expandPath(expanded, fields, fields.join('.'), store);
  return expanded;
}

function expandPath(target: Json, fields: string[], path: string, store: Store): void {
  const [field, ...rest] = fields;
  if (target.object === 'list' && field === 'data' && Array.isArray(target.data)) {
    if (rest.length === 0) throw notExpandable(path);
    for (const item of target.data) if (isObject(item)) expandPath(item, rest, path, store);
    return;
  }
  const kind = EXPANDABLE[String(target.object)]?.[field];
  if (!kind) throw notExpandable(path);
  const value = target[field];
  if (value === null || value === undefined) return;
  const resolved = typeof value === 'string' ? structuredClone(find(store, kind, value)) : value;
  target[field] = resolved;
  if (rest.length > 0 && isObject(resolved)) expandPath(resolved, rest, path, store);
}

function find(store: Store, kind: Kind, id: string): unknown {
  const found = kind === 'charge' ? store.charges.get(id) : store.paymentIntents.get(id);
  return found ?? id;
}

function notExpandable(path: string) {
  return invalidRequest(`This property cannot be expanded (${path}).`);
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
