/** Jest runs globalSetup and globalTeardown in one process, but as separate modules. */
export interface TestGlobals {
  /** Set by globalSetup when it started an embedded PostgreSQL. */
  stopTestPostgres?: () => Promise<void>;
}

export default async function globalTeardown(): Promise<void> {
  const globals = globalThis as TestGlobals;
  const stop = globals.stopTestPostgres;
  delete globals.stopTestPostgres;
  await stop?.();
}
