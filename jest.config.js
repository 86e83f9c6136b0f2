/** Jest runs the TypeScript sources as ESM through SWC (see docs/testing.md). */
const swc = [
  '@swc/jest',
  {
    jsc: {
      target: 'es2024',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      keepClassNames: true,
    },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  },
];

export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: {
    '^#common/(.*)\\.js$': '<rootDir>/libs/common/src/$1',
    '^#contracts/(.*)\\.js$': '<rootDir>/libs/contracts/src/$1',
    '^#testing/(.*)\\.js$': '<rootDir>/libs/testing/src/$1',
    '^#observability/(.*)\\.js$': '<rootDir>/libs/observability/src/$1',
    '^#stripe-stand-in/(.*)\\.js$': '<rootDir>/tools/stripe-stand-in/$1',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testMatch: ['<rootDir>/{apps,libs,tools,test}/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
  globalSetup: '<rootDir>/libs/testing/src/global-setup.ts',
  globalTeardown: '<rootDir>/libs/testing/src/global-teardown.ts',
  testTimeout: 30000,
};
