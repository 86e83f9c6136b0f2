/**
 * The README's Layout is the map of the tree: every folder directly under a service's `src/` and
 * under `libs/common/src/` is named in its entry, and every folder an entry names exists there (at
 * any depth). Renaming, adding or removing a folder without the map fails here.
 */
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const MAPPED_ROOTS = ['apps/orders/src/', 'apps/payments/src/', 'libs/common/'];

/** The Layout block's entries: each root with the text that describes it (continuation lines). */
export function layoutEntries(readme: string): Map<string, string> {
  const block = /### Layout\n+```\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no Layout code block');
  const entries = new Map<string, string>();
  let current: string | undefined;
  for (const line of block.split('\n')) {
    const root = /^(\S+)\s+(.*)$/.exec(line);
    if (root) {
      current = root[1];
      entries.set(current, root[2]);
    } else if (current && line.trim()) {
      entries.set(current, `${entries.get(current)} ${line.trim()}`);
    }
  }
  return entries;
}

/** The folders a description names: `word/`, not a path's later segment (`tools/outbox/`). */
export function namedFolders(description: string): Set<string> {
  return new Set([...description.matchAll(/(?<![\w/-])([a-z][a-z0-9-]*)\//g)].map((m) => m[1]));
}

function folders(dir: string, depth = Infinity): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => [
      entry.name,
      ...(depth > 1 ? folders(join(dir, entry.name), depth - 1) : []),
    ]);
}

describe('README Layout', () => {
  const entries = layoutEntries(readFileSync(join(ROOT, 'README.md'), 'utf8'));

  describe.each(MAPPED_ROOTS)('%s', (root) => {
    const src = join(ROOT, root === 'libs/common/' ? 'libs/common/src' : root);

    it('names every folder it holds', () => {
      const named = namedFolders(entries.get(root) ?? '');
      expect(folders(src, 1).filter((name) => !named.has(name))).toEqual([]);
    });

    it('names no folder that is not there', () => {
      const present = new Set(folders(src));
      expect(
        [...namedFolders(entries.get(root) ?? '')].filter((name) => !present.has(name)),
      ).toEqual([]);
    });
  });

  it('reads a folder list the way the checks above assume', () => {
    const entries = layoutEntries(
      '### Layout\n\n```\napps/x/src/    a/ (b/ and tools/c/)\n               d/\n```\n',
    );
    expect([...namedFolders(entries.get('apps/x/src/')!)]).toEqual(['a', 'b', 'tools', 'd']);
  });
});
