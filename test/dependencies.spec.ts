/**
 * package.json tells the truth about the code: every package the code imports is declared, every
 * declared package is used, and what the production image runs (the services, the Stripe stand-in,
 * the migrations job, the health check) loads production dependencies only, since the image
 * installs nothing else (`npm ci --omit=dev`). Imports are read with the TypeScript parser.
 */
import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

interface PackageJson {
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  imports: Record<string, string>;
  bin?: string | Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const manifest = JSON.parse(read('package.json')) as PackageJson;
const declared = { ...manifest.dependencies, ...manifest.devDependencies };
/** An installed package's manifest (every declared package is installed at the top level). */
const installed = (name: string) =>
  JSON.parse(read(join('node_modules', name, 'package.json'))) as PackageJson;

/** The folders holding the project's own code, and the config files at the root. */
const SOURCE_DIRS = ['apps', 'libs', 'tools', 'test', 'bench', 'deploy'];
const SOURCE = /\.(ts|js|mjs|cjs)$/;

function sourceFiles(): string[] {
  const nested = SOURCE_DIRS.flatMap((dir) =>
    readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' }).map((file) =>
      join(dir, file),
    ),
  );
  const root = readdirSync(ROOT).filter((file) => SOURCE.test(file));
  return [...nested, ...root].filter((file) => SOURCE.test(file) && !file.endsWith('.d.ts'));
}

interface Reference {
  specifier: string;
  /** Erased from the emitted JavaScript: loads nothing at run time. */
  typeOnly: boolean;
}

/** What a file imports, re-exports, loads with import() or require(), or resolves by name. */
function referencesOf(file: string): Reference[] {
  const source = ts.createSourceFile(file, read(file), ts.ScriptTarget.Latest, false);
  const found: Reference[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const named = clause?.namedBindings;
      const typeOnly =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (clause.name === undefined &&
            named !== undefined &&
            ts.isNamedImports(named) &&
            named.elements.length > 0 &&
            named.elements.every((element) => element.isTypeOnly)));
      found.push({ specifier: node.moduleSpecifier.text, typeOnly });
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      found.push({ specifier: node.moduleSpecifier.text, typeOnly: node.isTypeOnly });
    } else if (ts.isCallExpression(node) && node.arguments.length > 0) {
      const [argument] = node.arguments;
      const callee = node.expression;
      const named = (expression: ts.Expression, name: string) =>
        ts.isIdentifier(expression) && expression.text === name;
      // import(), require(), and the resolution of a name: require.resolve, createRequire(...).resolve.
      const loads =
        callee.kind === ts.SyntaxKind.ImportKeyword ||
        named(callee, 'require') ||
        (ts.isPropertyAccessExpression(callee) &&
          callee.name.text === 'resolve' &&
          (named(callee.expression, 'require') ||
            (ts.isCallExpression(callee.expression) &&
              named(callee.expression.expression, 'createRequire'))));
      // A template such as `swagger-ui-dist/${file}` names its package in the text before `${`.
      const text = ts.isStringLiteralLike(argument)
        ? argument.text
        : ts.isTemplateExpression(argument)
          ? argument.head.text
          : undefined;
      if (loads && text !== undefined) found.push({ specifier: text, typeOnly: false });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const BUILTINS = new Set(builtinModules);

/** The npm package a bare specifier names; undefined for relative paths, `#` imports, builtins. */
function packageOf(specifier: string): string | undefined {
  if (/^[./#]/.test(specifier) || specifier.startsWith('node:')) return undefined;
  const [first, second] = specifier.split('/');
  const name = first.startsWith('@') ? `${first}/${second}` : first;
  if (BUILTINS.has(name) || !/^(@[a-z0-9-._~]+\/)?[a-z0-9-._~]+$/.test(name)) return undefined;
  return name;
}

/** The source file a relative or `#` import of `from` loads, per package.json's "imports". */
function localFile(from: string, specifier: string): string | undefined {
  let target: string;
  if (specifier.startsWith('#')) {
    const [alias, dist] = Object.entries(manifest.imports).find(([key]) =>
      specifier.startsWith(key.replace('*', '')),
    ) ?? [undefined, undefined];
    if (!alias || !dist) return undefined;
    const mapped = dist.replace('*', specifier.slice(alias.replace('*', '').length));
    target = relative('dist', mapped);
  } else if (specifier.startsWith('.')) {
    target = join(dirname(from), specifier);
  } else {
    return undefined;
  }
  const candidates = [target, target.replace(/\.js$/, '.ts'), target.replace(/\.mjs$/, '.mts')];
  return candidates.find((candidate) => existsSync(join(ROOT, candidate)));
}

const files = sourceFiles();
const references = new Map(files.map((file) => [file, referencesOf(file)]));

/** Development packages the image's code looks for by name and does well without. */
const OPTIONAL_IN_PRODUCTION: Record<string, string> = {
  'pino-pretty': 'libs/common/src/runtime/logging.ts logs JSON without it',
};

/** Entry points of the production image, as the Dockerfile, compose and the Job run them. */
const IMAGE_ENTRY_POINTS = [
  'apps/orders/src/main.ts',
  'apps/payments/src/main.ts',
  'libs/observability/src/register.ts',
  'tools/stripe-stand-in/main.ts',
  'tools/migrations/main.ts',
  'deploy/healthcheck.mjs',
];

/** The `dist/...js` files the image is told to run, outside comments. */
function commandsRunInTheImage(): string[] {
  const texts = [
    read('Dockerfile'),
    read('docker-compose.yml'),
    ...readdirSync(join(ROOT, 'deploy/k8s'), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.yaml'))
      .map((file) => read(join('deploy/k8s', file))),
  ];
  const lines = texts.flatMap((text) => text.split('\n')).filter((l) => !/^\s*#/.test(l));
  const runs = lines.flatMap((line) => [...line.matchAll(/\bdist\/[\w/.${}-]+\.js\b/g)]);
  return runs.flatMap(([path]) =>
    path.includes('${SERVICE}')
      ? ['orders', 'payments'].map((service) => path.replace('${SERVICE}', service))
      : [path],
  );
}

/** Every file the entry points load at run time (type-only imports load nothing). */
function loadedBy(entryPoints: string[]): Set<string> {
  const loaded = new Set<string>();
  const pending = [...entryPoints];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (loaded.has(file)) continue;
    loaded.add(file);
    for (const { specifier, typeOnly } of references.get(file) ?? referencesOf(file)) {
      const local = typeOnly ? undefined : localFile(file, specifier);
      if (local) pending.push(local);
    }
  }
  return loaded;
}

describe('package.json dependencies', () => {
  it('declares every package the code imports', () => {
    const undeclared = [...references].flatMap(([file, refs]) =>
      refs
        .map(({ specifier }) => packageOf(specifier))
        .filter((name) => name !== undefined && !(name in declared))
        .map((name) => `${file}: ${name}`),
    );
    expect(undeclared).toEqual([]);
  });

  it('declares no package that nothing uses', () => {
    const imported = new Set(
      [...references.values()].flatMap((refs) => refs.map((ref) => packageOf(ref.specifier))),
    );
    // Commands: npm scripts, CI, and buf's code generator plugins.
    const commands = [
      ...Object.values(manifest.scripts),
      read('.ci/run'),
      read('proto/buf.gen.yaml'),
    ].join('\n');
    const runsABinary = (name: string) => {
      const { bin } = installed(name);
      const bins = typeof bin === 'string' ? [name.split('/').at(-1)!] : Object.keys(bin ?? {});
      return bins.some((command) => new RegExp(`(^|[\\s:])${command}(\\s|$)`, 'm').test(commands));
    };
    // A required peer dependency of another declared package (e.g. reflect-metadata for Nest).
    const requiredPeer = (name: string) =>
      Object.keys(declared).some((other) => {
        const { peerDependencies = {}, peerDependenciesMeta = {} } = installed(other);
        return name in peerDependencies && !peerDependenciesMeta[name]?.optional;
      });
    const typesFor = (name: string) => {
      const typed = /^@types\/(.+)$/.exec(name)?.[1];
      if (typed === undefined) return false;
      const named = typed.includes('__') ? `@${typed.replace('__', '/')}` : typed;
      return named === 'node' || imported.has(named);
    };
    // Named in a tool's configuration, e.g. jest.config.js's transform.
    const configured = new Set(
      readdirSync(ROOT)
        .filter((file) => /\.config\.m?js$/.test(file))
        .flatMap((file) => [...read(file).matchAll(/'([^']+)'/g)].map((match) => match[1])),
    );
    // The Nest CLI: nest-cli.json maps the monorepo's apps and libs for `npx nest generate ...`.
    if (existsSync(join(ROOT, 'nest-cli.json'))) configured.add('@nestjs/cli');
    const unused = Object.keys(declared).filter(
      (name) =>
        !imported.has(name) &&
        !configured.has(name) &&
        !runsABinary(name) &&
        !requiredPeer(name) &&
        !typesFor(name),
    );
    expect(unused).toEqual([]);
  });

  it('keeps what the production image runs to production dependencies', () => {
    const entryFiles = commandsRunInTheImage().map((path) =>
      relative('dist', path).replace(/\.js$/, '.ts'),
    );
    expect(entryFiles.filter((file) => !IMAGE_ENTRY_POINTS.includes(file))).toEqual([]);

    const devOnly = [...loadedBy(IMAGE_ENTRY_POINTS)].flatMap((file) =>
      (references.get(file) ?? [])
        .filter(({ typeOnly }) => !typeOnly)
        .map(({ specifier }) => packageOf(specifier))
        .filter(
          (name): name is string =>
            name !== undefined &&
            !(name in manifest.dependencies) &&
            !(name in OPTIONAL_IN_PRODUCTION),
        )
        .map((name) => `${file}: ${name}`),
    );
    expect(devOnly).toEqual([]);
  });

  it('declares fastify as the version @nestjs/platform-fastify runs, so their types agree', () => {
    expect(manifest.dependencies.fastify).toBe(
      installed('@nestjs/platform-fastify').dependencies.fastify,
    );
  });

  it('pins prereleases exactly: a range would take any later beta', () => {
    const ranged = Object.entries(declared).filter(
      ([, version]) => version.includes('-') && !/^\d+\.\d+\.\d+-[\w.]+$/.test(version),
    );
    expect(ranged).toEqual([]);
  });
});
