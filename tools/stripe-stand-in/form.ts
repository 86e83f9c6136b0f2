/**
 * Decoding of Stripe's v1 request bodies: `application/x-www-form-urlencoded` with bracket
 * notation for nesting (`metadata[order_id]=1`, `payment_method_types[0]=card`).
 */
export type FormValue = string | FormValue[] | FormObject;
export interface FormObject {
  [key: string]: FormValue;
}

export class FormDecodeError extends Error {
  constructor(
    readonly param: string,
    message: string,
  ) {
    super(message);
  }
}

type Node = string | Map<string, Node>;

const INDEX = /^(0|[1-9]\d*)$/;

export function decodeForm(encoded: string): FormObject {
  const root = new Map<string, Node>();
  for (const [key, value] of new URLSearchParams(encoded)) {
    assign(root, splitKey(key), value);
  }
  return toObject(root);
}

/** `a[b][0]` -> ['a', 'b', '0']; a key that is not well-formed bracket notation stays literal. */
function splitKey(key: string): string[] {
  const match = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(key);
  if (!match) return [key];
  return [match[1], ...Array.from(match[2].matchAll(/\[([^[\]]*)\]/g), (m) => m[1])];
}

function assign(root: Map<string, Node>, path: string[], value: string): void {
  let container = root;
  for (let i = 0; i < path.length; i++) {
    // `a[]=x&a[]=y` appends, as in Rack.
    const segment = path[i] === '' && i > 0 ? String(container.size) : path[i];
    if (i === path.length - 1) {
      if (container.get(segment) instanceof Map) throw conflict(path, i);
      container.set(segment, value);
      return;
    }
    let child = container.get(segment);
    if (child === undefined) {
      child = new Map();
      container.set(segment, child);
    } else if (typeof child === 'string') {
      throw conflict(path, i);
    }
    container = child;
  }
}

function conflict(path: string[], depth: number): FormDecodeError {
  const param =
    path[0] +
    path
      .slice(1, depth + 1)
      .map((segment) => `[${segment}]`)
      .join('');
  return new FormDecodeError(
    param,
    `Invalid value for ${param}: it was sent both as a value and as a hash.`,
  );
}

function toValue(node: Node): FormValue {
  if (typeof node === 'string') return node;
  const keys = [...node.keys()];
  // Only a dense 0..n-1 index set is an array; anything else keeps its keys (e.g. metadata[7]).
  const isArray = keys.length > 0 && keys.every((k) => INDEX.test(k) && Number(k) < keys.length);
  if (!isArray) return toObject(node);
  const array: FormValue[] = [];
  for (const [key, child] of node) array[Number(key)] = toValue(child);
  return array;
}

function toObject(node: Map<string, Node>): FormObject {
  // fromEntries defines own properties, so a `__proto__` key cannot reach the prototype.
  return Object.fromEntries<FormValue>([...node].map(([key, child]) => [key, toValue(child)]));
}
