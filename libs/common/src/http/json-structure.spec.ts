import { describe, expect, it } from '@jest/globals';
import { jsonStructureProblem, MAX_JSON_DEPTH } from './json-structure.js';

function nested(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

describe(jsonStructureProblem.name, () => {
  it.each([
    ['a flat object', '{"a":1,"b":"x"}'],
    ['the same key in sibling objects', '[{"a":1},{"a":2}]'],
    ['the same key at different depths', '{"a":{"a":{"a":1}}}'],
    ['keys that only look alike', '{"a":1,"A":2,"a ":3}'],
    ['a string value equal to a key', '{"a":"a","b":["a","a"]}'],
    ['keys after an empty object and array', '{"a":{},"b":[],"c":{"a":[]}}'],
    ['escaped quotes and commas inside strings', '{"a\\",\\"b":"x,\\"a\\":1","b":1}'],
    ['scalars', '42'],
    [`${MAX_JSON_DEPTH} levels`, nested(MAX_JSON_DEPTH)],
  ])('accepts %s', (_name, text) => {
    JSON.parse(text);
    expect(jsonStructureProblem(text)).toBeUndefined();
  });

  it.each([
    ['a repeated key', '{"amount":1,"amount":1000}', '"amount"'],
    ['a repeated key written with an escape', '{"a":1,"\\u0061":2}', '"a"'],
    ['a repeated key deep inside', '{"items":[{"sku":"a"},{"sku":"b","sku":"c"}]}', '"sku"'],
    ['a repeated key after a nested object', '{"a":{"b":1},"c":2,"a":3}', '"a"'],
    ['a repeated key escaped two ways', '{"\\u00e9\\n":1,"é\\u000A":2}', '"é\\n"'],
    [
      'a repeated key of escapes of every kind',
      '{"\\"\\\\\\/\\b\\f\\r\\t\\ud83d\\ude00":1,"\\u0022\\u005c/\\u0008\\u000c\\u000d\\u0009😀":2}',
      '"\\"',
    ],
  ])('refuses %s', (_name, text, key) => {
    JSON.parse(text);
    expect(jsonStructureProblem(text)).toContain(key);
  });

  it(`refuses more than ${MAX_JSON_DEPTH} levels, and a depth that would exhaust a recursive parser`, () => {
    expect(jsonStructureProblem(nested(MAX_JSON_DEPTH + 1))).toMatch(/nested more than/);
    expect(jsonStructureProblem(nested(100_000))).toMatch(/nested more than/);
    const objects = '{"a":'.repeat(5000) + '1' + '}'.repeat(5000);
    expect(jsonStructureProblem(objects)).toMatch(/nested more than/);
  });

  it('decodes escaped keys as JSON.parse does', () => {
    const keys = ['a\\u0062c', '\\ud83d\\ude00', 'x\\"y', '\\\\', '\\/', 'tab\\there', '\\u00E9'];
    const text = `{${keys.map((key, i) => `"${key}":${i}`).join(',')}}`;
    const decoded = Object.keys(JSON.parse(text) as object);
    expect(new Set(decoded).size).toBe(keys.length);
    for (const key of decoded) {
      expect(
        jsonStructureProblem(`{${JSON.stringify(key)}:1,"${keys[decoded.indexOf(key)]}":2}`),
      ).toContain('more than once');
    }
  });

  it('shortens a long repeated key in its message', () => {
    const key = 'k'.repeat(500);
    expect(jsonStructureProblem(`{"${key}":1,"${key}":2}`)?.length).toBeLessThan(150);
  });
});
