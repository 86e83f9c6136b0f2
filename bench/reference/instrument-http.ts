// Preloaded after the services' register.js when the reference runs traced. The product's
// CommonJS libraries (Fastify, the stripe SDK) `require('http')` at startup, and that is when the
// HTTP instrumentation patches it; the reference imports `node:http` from ESM, which no require
// hook sees, so nothing would patch it before its first export. This requires it the same way,
// then updates the ESM bindings (`createServer`, `request`) to the patched functions.
import { createRequire, syncBuiltinESMExports } from 'node:module';

createRequire(import.meta.url)('node:http');
syncBuiltinESMExports();
