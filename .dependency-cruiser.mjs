import { readFileSync } from 'node:fs';

/**
 * The architecture rules `npm run check` enforces (`npm run depcruise`), on the imports as they
 * resolve to files, type-only imports included:
 * - an app never imports another app; libs never import apps, tools, bench or tests;
 * - in the services' code (apps and the libs they run), only the persistence layer imports the
 *   database packages: repositories, each app's `database/` folder (data source, migrations, the
 *   transaction handle) and the libs' database helpers; entities declare their columns with
 *   `typeorm`'s decorators, and modules wire `@nestjs/typeorm`'s TypeOrmModule.
 * Tools may import apps and libs; bench and tests may import anything (specs are tests).
 * test/architecture.spec.ts shows each rule failing on a file that breaks it.
 */

const { imports } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

/**
 * A top-level folder as an import reaches it: its sources, their build in dist/ (where the
 * package.json "imports" aliases such as `#stripe-stand-in/*` resolve once built), or the alias
 * itself, unresolved before a build.
 */
function folder(name) {
  const aliases = Object.entries(imports)
    .filter(([, target]) => target.startsWith(`./dist/${name}/`))
    .map(([alias]) => `^${alias.replace('*', '')}`);
  return [`^(dist/)?${name}/`, ...aliases];
}

/** typeorm, pg (and its types) and @nestjs/typeorm, as installed. */
const database = (...names) => `(^|/)node_modules/(${names.join('|')})/`;
const DATABASE = database('typeorm', 'pg', '@types/pg', '@nestjs/typeorm');

/** Code the services run: the apps and the libs they share, specs excepted. */
const SERVICE_CODE = '^(apps/[^/]+/src|libs/(common|contracts|observability)/src)/';
const SPEC = '\\.(spec|e2e-spec)\\.ts$';

export default {
  forbidden: [
    {
      name: 'app-imports-another-app',
      comment: 'Apps talk over their contracts (gRPC, HTTP), never through each other’s code.',
      severity: 'error',
      from: { path: '^apps/([^/]+)/' },
      to: { path: folder('apps'), pathNot: '^(dist/)?apps/$1/' },
    },
    {
      name: 'lib-imports-app-or-tool',
      comment: 'libs sit below the apps and the tools: what they share must not depend on either.',
      severity: 'error',
      from: { path: '^libs/' },
      to: { path: ['apps', 'tools', 'bench', 'test'].flatMap(folder) },
    },
    {
      name: 'database-layer-outside-persistence',
      comment:
        'SQL, EntityManager and pg stay in repositories, database/ and the libs’ database helpers (libs/common/src/db).',
      severity: 'error',
      from: {
        path: SERVICE_CODE,
        pathNot: [
          SPEC,
          '\\.repository\\.ts$',
          '^apps/[^/]+/src/database/',
          '^libs/common/src/db/',
          '\\.entity\\.ts$',
          '\\.module\\.ts$',
        ],
      },
      to: { path: DATABASE },
    },
    {
      name: 'entity-beyond-typeorm-decorators',
      comment: 'An entity declares its columns with typeorm’s decorators and nothing more.',
      severity: 'error',
      from: { path: `${SERVICE_CODE}.*\\.entity\\.ts$` },
      to: { path: database('pg', '@types/pg', '@nestjs/typeorm') },
    },
    {
      name: 'module-beyond-typeorm-wiring',
      comment: 'A module wires TypeOrmModule (forRoot, forFeature) and runs no queries.',
      severity: 'error',
      from: { path: `${SERVICE_CODE}.*\\.module\\.ts$` },
      to: { path: database('typeorm', 'pg', '@types/pg') },
    },
  ],
  options: {
    // Only the sources given on the command line are cruised; what they import is not followed.
    doNotFollow: { path: ['(^|/)node_modules/', '^dist/'] },
    // Type-only imports count: an EntityManager type crossing a boundary is a leak too.
    tsPreCompilationDeps: true,
  },
};
