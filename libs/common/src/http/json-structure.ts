/** Deeper JSON than any body of this project (Stripe events nest about 8 levels) is refused. */
export const MAX_JSON_DEPTH = 32;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

/**
 * What `JSON.parse` silently accepts but a request body must not have: an object with the same key
 * twice (parsers disagree on which one wins, an opening for ambiguity attacks; `"a"` and `"\u0061"`
 * are the same key) and nesting deeper than `maxDepth`. Returns the problem, or undefined.
 *
 * `text` must already be valid JSON (parse it first): the scan then only needs to follow strings
 * and brackets. It is iterative, so no depth can exhaust the stack, and linear in the text.
 */
export function jsonStructureProblem(
  text: string,
  maxDepth: number = MAX_JSON_DEPTH,
): string | undefined {
  // One entry per open container: the keys seen so far for an object, null for an array.
  const open: (Set<string> | null)[] = [];
  let expectingKey = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (char === QUOTE) {
      let end = i + 1;
      let escaped = false;
      while (text.charCodeAt(end) !== QUOTE) {
        if (text.charCodeAt(end) === BACKSLASH) {
          escaped = true;
          end += 2;
        } else {
          end += 1;
        }
      }
      if (expectingKey) {
        const key = escaped ? unescaped(text, i + 1, end) : text.slice(i + 1, end);
        const keys = open[open.length - 1];
        if (keys?.has(key)) return `an object has the key ${quote(key)} more than once`;
        keys?.add(key);
        expectingKey = false;
      }
      i = end;
    } else if (char === OPEN_OBJECT || char === OPEN_ARRAY) {
      open.push(char === OPEN_OBJECT ? new Set() : null);
      if (open.length > maxDepth) return `it is nested more than ${maxDepth} levels deep`;
      expectingKey = char === OPEN_OBJECT;
    } else if (char === CLOSE_OBJECT || char === CLOSE_ARRAY) {
      open.pop();
    } else if (char === COMMA) {
      expectingKey = open[open.length - 1] instanceof Set;
    }
  }
  return undefined;
}

const ESCAPED: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

/**
 * The string between `start` and `end` (a valid JSON string's contents) with its escapes decoded,
 * as JSON.parse would (a \u escape is one UTF-16 code unit). Decoded in place: a body of many
 * short escaped keys must not cost a JSON.parse call per key.
 */
function unescaped(text: string, start: number, end: number): string {
  let decoded = '';
  let run = start;
  for (let i = start; i < end; i++) {
    if (text.charCodeAt(i) !== BACKSLASH) continue;
    decoded += text.slice(run, i);
    const kind = text[i + 1];
    if (kind === 'u') {
      decoded += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
      i += 5;
    } else {
      decoded += ESCAPED[kind];
      i += 1;
    }
    run = i + 1;
  }
  return decoded + text.slice(run, end);
}

function quote(key: string): string {
  const shown = JSON.stringify(key);
  return shown.length > 66 ? `${shown.slice(0, 64)}…"` : shown;
}
