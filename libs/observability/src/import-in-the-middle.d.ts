declare module 'import-in-the-middle/register-hooks.mjs' {
  /** Registers import-in-the-middle as a synchronous, in-thread ESM loader hook. */
  export function register(options?: {
    include?: (string | RegExp)[];
    exclude?: (string | RegExp)[];
  }): void;
}
