import { invalidParam } from './errors.js';
import type { FormObject, FormValue } from './form.js';

/**
 * Typed reads of decoded form parameters with Stripe's validation errors. An empty string is
 * Stripe's way of unsetting a value, so optional reads treat it as absent.
 */
export class ParamReader {
  constructor(
    private readonly params: FormObject,
    private readonly prefix = '',
  ) {}

  name(key: string): string {
    return this.prefix ? `${this.prefix}[${key}]` : key;
  }

  /** Stripe rejects parameters it does not know, which catches typos such as `metdata`. */
  allowOnly(keys: readonly string[]): this {
    const unknown = Object.keys(this.params).find((key) => !keys.includes(key));
    if (unknown !== undefined) {
      throw invalidParam(
        this.name(unknown),
        `Received unknown parameter: ${this.name(unknown)}`,
        'parameter_unknown',
      );
    }
    return this;
  }

  string(key: string): string | undefined {
    const value = this.params[key];
    if (value === undefined || value === '') return undefined;
    if (typeof value !== 'string') {
      throw invalidParam(this.name(key), `Invalid string: ${JSON.stringify(value)}`);
    }
    return value;
  }

  requiredString(key: string): string {
    return this.string(this.required(key)) ?? '';
  }

  integer(key: string): number | undefined {
    const value = this.params[key];
    if (value === undefined || value === '') return undefined;
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
      throw invalidParam(this.name(key), `Invalid integer: ${text}`, 'parameter_invalid_integer');
    }
    return Number(text);
  }

  requiredInteger(key: string): number {
    return this.integer(this.required(key))!;
  }

  boolean(key: string): boolean | undefined {
    const value = this.string(key);
    if (value === undefined) return undefined;
    if (value !== 'true' && value !== 'false') {
      throw invalidParam(this.name(key), `Invalid boolean: ${value}`);
    }
    return value === 'true';
  }

  requiredBoolean(key: string): boolean {
    return this.boolean(this.required(key))!;
  }

  enumeration<T extends string>(key: string, allowed: readonly T[]): T | undefined {
    const value = this.string(key);
    if (value === undefined || (allowed as readonly string[]).includes(value)) {
      return value as T | undefined;
    }
    const options = `${allowed.slice(0, -1).join(', ')}, or ${allowed.at(-1)}`;
    throw invalidParam(this.name(key), `Invalid ${this.name(key)}: must be one of ${options}`);
  }

  stringArray(key: string): string[] | undefined {
    const value = this.params[key];
    if (value === undefined || value === '') return undefined;
    if (!Array.isArray(value)) throw invalidParam(this.name(key), 'Invalid array');
    return value.map((item, index) => {
      if (typeof item !== 'string') {
        throw invalidParam(
          `${this.name(key)}[${index}]`,
          `Invalid string: ${JSON.stringify(item)}`,
        );
      }
      return item;
    });
  }

  hash(key: string): ParamReader | undefined {
    const value = this.params[key];
    if (value === undefined || value === '') return undefined;
    if (typeof value === 'string') throw invalidParam(this.name(key), 'Invalid object');
    return new ParamReader(hashEntries(value), this.name(key));
  }

  requiredHash(key: string): ParamReader {
    return this.hash(this.required(key))!;
  }

  raw(): FormObject {
    return this.params;
  }

  /** Metadata keys and values as Stripe stores them; an empty value leaves the key unset. */
  metadata(key = 'metadata'): Record<string, string> {
    const entries = this.hash(key)?.raw() ?? {};
    const metadata: Record<string, string> = {};
    for (const [name, value] of Object.entries(entries)) {
      const param = `${this.name(key)}[${name}]`;
      if (typeof value !== 'string') {
        throw invalidParam(param, `Invalid value for ${param}: metadata values must be strings.`);
      }
      if (name.length > 40) {
        throw invalidParam(
          param,
          `Metadata keys can have up to 40 characters, but you passed in a key that is ${name.length} characters.`,
        );
      }
      if (value.length > 500) {
        throw invalidParam(
          param,
          `Metadata values can have up to 500 characters, but you passed in a value that is ${value.length} characters.`,
        );
      }
      if (value !== '') metadata[name] = value;
    }
    if (Object.keys(metadata).length > 50) {
      throw invalidParam(this.name(key), 'You can have at most 50 metadata keys.');
    }
    return metadata;
  }

  private required(key: string): string {
    const value = this.params[key];
    if (value === undefined) {
      throw invalidParam(
        this.name(key),
        `Missing required param: ${this.name(key)}.`,
        'parameter_missing',
      );
    }
    if (value === '') {
      throw invalidParam(
        this.name(key),
        `You passed an empty string for '${this.name(key)}'. We assume empty values are an attempt to unset a parameter; however '${this.name(key)}' cannot be unset. You should remove '${this.name(key)}' from your request or supply a non-empty value.`,
        'parameter_invalid_empty',
      );
    }
    return key;
  }
}

/** The form decoder turns `hash[0]=...` into an array; as a hash its keys are the indexes. */
function hashEntries(value: FormValue[] | FormObject): FormObject {
  return Array.isArray(value)
    ? Object.fromEntries(value.map((item, i) => [String(i), item]))
    : value;
}
