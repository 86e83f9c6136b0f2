import { parseArgs } from 'node:util';
import { CUSTOMER_ID_PATTERN, signDevToken } from './token.js';

const USAGE =
  'Usage: npm run -s dev:token -- [--admin] <subject>\n' +
  '  Prints a 24-hour development JWT for the orders API: role `customer` (own orders), or with\n' +
  '  --admin role `admin` (reads and refunds any order). Signed with JWT_PRIVATE_KEY when set,\n' +
  '  otherwise HS256 with JWT_SECRET or the development secret; iss/aud from JWT_ISSUER and\n' +
  '  JWT_AUDIENCE when set. <subject>: 1 to 255 visible ASCII characters.';

// Prints nothing but the token on stdout, so `TOKEN=$(npm run --silent dev:token -- id)` works.
let parsed;
try {
  parsed = parseArgs({ options: { admin: { type: 'boolean' } }, allowPositionals: true });
} catch {
  parsed = undefined;
}
const subject = parsed?.positionals[0];
if (!parsed || parsed.positionals.length !== 1 || !CUSTOMER_ID_PATTERN.test(subject!)) {
  console.error(USAGE);
  process.exit(2);
}
console.log(await signDevToken(subject!, { roles: [parsed.values.admin ? 'admin' : 'customer'] }));
