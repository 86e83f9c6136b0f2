/**
 * @nestjs/throttler is CommonJS and require()s the ESM @nestjs/common and @nestjs/core. Imported
 * statically, it can be evaluated while those are still being linked (Jest's ESM loader does so),
 * which Node refuses as a require(esm) cycle. Loading it once they are evaluated avoids that.
 */
import '@nestjs/common';
import '@nestjs/core';

const throttler = await import('@nestjs/throttler');

export const { normalizeIp } = throttler;
