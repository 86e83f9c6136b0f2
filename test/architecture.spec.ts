/**
 * The architecture rules of .dependency-cruiser.mjs, which `npm run check` enforces through
 * `npm run depcruise`: the tree keeps them, and each rule fails on a file that breaks it. The
 * breaking files live in a temporary tree laid out like the project's, cruised by the same command
 * with the same configuration.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLI = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruiser.mjs');
const CONFIG = join(ROOT, '.dependency-cruiser.mjs');
const FOLDERS = ['apps', 'libs', 'tools', 'bench', 'test'];

interface Cruise {
  /** depcruise's exit status: the number of errors, so a violation fails `npm run check`. */
  exitCode: number;
  /** `rule: from` for each violation. */
  violations: string[];
}

/** Runs `npm run depcruise`'s command on the given folders of `cwd`, reading its report. */
function depcruise(cwd: string, folders: string[]): Promise<Cruise> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, '--config', CONFIG, ...folders], { cwd }, (error, stdout) => {
      if (error && typeof error.code !== 'number') {
        return reject(new Error('depcruise did not run', { cause: error }));
      }
      // One line per violation: `  error <rule>: <from> → <to>`.
      const violations = [...stdout.matchAll(/^\s*error ([\w-]+): (\S+) → /gm)].map(
        ([, rule, from]) => `${rule}: ${from}`,
      );
      resolve({ exitCode: error ? (error.code as number) : 0, violations: violations.sort() });
    });
  });
}

/** Files that break one rule each, and the violation each must raise. */
const BREAKING: Record<string, { source: string; violation: string }> = {
  'apps/orders/src/checkout/checkout.service.ts': {
    source: "import { payment } from '../../../payments/src/payments/payment.js';",
    violation: 'app-imports-another-app',
  },
  'libs/common/src/reaches-app.ts': {
    source: "import { order } from '../../../apps/orders/src/orders/order.js';",
    violation: 'lib-imports-app-or-tool',
  },
  'libs/testing/src/reaches-tool.ts': {
    source: "import { helper } from '../../../tools/dev/helper.js';",
    violation: 'lib-imports-app-or-tool',
  },
  'libs/common/src/reaches-tool-alias.ts': {
    source: "import { StripeStandIn } from '#stripe-stand-in/server.js';",
    violation: 'lib-imports-app-or-tool',
  },
  'apps/orders/src/orders/orders.service.ts': {
    source: "import type { EntityManager } from 'typeorm';",
    violation: 'database-layer-outside-persistence',
  },
  'apps/payments/src/payments/payments.grpc.controller.ts': {
    source: "import pg from 'pg';",
    violation: 'database-layer-outside-persistence',
  },
  'libs/common/src/runtime/health.ts': {
    source: "import { InjectDataSource } from '@nestjs/typeorm';",
    violation: 'database-layer-outside-persistence',
  },
  'apps/orders/src/orders/order-line.entity.ts': {
    source: "import { InjectDataSource } from '@nestjs/typeorm';",
    violation: 'entity-beyond-typeorm-decorators',
  },
  'apps/orders/src/orders/orders.module.ts': {
    source: "import { DataSource } from 'typeorm';",
    violation: 'module-beyond-typeorm-wiring',
  },
};

/** Files every rule allows: the persistence layer, and what tools, bench and tests may reach. */
const ALLOWED: Record<string, string> = {
  'apps/payments/src/payments/payment.ts': 'export const payment = 1;',
  'apps/orders/src/orders/order.ts':
    "import { payment } from '../payments-client/payment-view.js';",
  'apps/orders/src/payments-client/payment-view.ts': 'export const payment = 1;',
  'apps/orders/src/orders/orders.repository.ts': [
    "import { InjectDataSource } from '@nestjs/typeorm';",
    "import { DataSource } from 'typeorm';",
    "import pg from 'pg';",
  ].join('\n'),
  'apps/orders/src/orders/orders.repository.spec.ts': "import pg from 'pg';",
  'apps/orders/src/orders/order.entity.ts': "import { Column, Entity } from 'typeorm';",
  'apps/orders/src/app.module.ts': "import { TypeOrmModule } from '@nestjs/typeorm';",
  'apps/payments/src/database/transaction.ts': "import { DataSource } from 'typeorm';",
  'apps/payments/src/database/migrations/1-CreatePayments.ts':
    "import type { MigrationInterface } from 'typeorm';",
  'libs/common/src/db/typeorm.ts': "import type { EntityManager } from 'typeorm';",
  'libs/common/src/db/migrations.ts': "import { DataSource } from 'typeorm';",
  'tools/dev/helper.ts': [
    "import { order } from '../../apps/orders/src/orders/order.js';",
    "import { payment } from '../../apps/payments/src/payments/payment.js';",
    "import { bigint } from '../../libs/common/src/db/typeorm.js';",
  ].join('\n'),
  'bench/reach.ts': "import { helper } from '../tools/dev/helper.js';",
  'test/reach.e2e-spec.ts': [
    "import { order } from '../apps/orders/src/orders/order.js';",
    "import { payment } from '../apps/payments/src/payments/payment.js';",
    "import { helper } from '../tools/dev/helper.js';",
  ].join('\n'),
};

describe('architecture rules (npm run depcruise)', () => {
  let probe: string;

  beforeAll(async () => {
    probe = await mkdtemp(join(tmpdir(), 'architecture-'));
    // The database packages resolve as they do in the project.
    await symlink(join(ROOT, 'node_modules'), join(probe, 'node_modules'));
    const files = {
      ...ALLOWED,
      ...Object.fromEntries(Object.entries(BREAKING).map(([file, { source }]) => [file, source])),
    };
    for (const [file, source] of Object.entries(files)) {
      await mkdir(dirname(join(probe, file)), { recursive: true });
      await writeFile(join(probe, file), `${source}\nexport const used = true;\n`);
    }
  });

  afterAll(async () => {
    if (probe) await rm(probe, { recursive: true, force: true });
  });

  it('holds for the tree', async () => {
    expect(await depcruise(ROOT, FOLDERS)).toEqual({ exitCode: 0, violations: [] });
  });

  it('fails on each file that breaks a rule, and on nothing else', async () => {
    const expected = Object.entries(BREAKING)
      .map(([file, { violation }]) => `${violation}: ${file}`)
      .sort();
    expect(await depcruise(probe, FOLDERS)).toEqual({
      exitCode: expected.length,
      violations: expected,
    });
  });
});
