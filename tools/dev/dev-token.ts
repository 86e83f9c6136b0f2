import { CUSTOMER_ID_PATTERN, signDevToken } from './token.js';

// Prints nothing but the token on stdout, so `TOKEN=$(npm run --silent dev:token -- id)` works.
const args = process.argv.slice(2);
if (args.length !== 1 || !CUSTOMER_ID_PATTERN.test(args[0])) {
  console.error(
    'Usage: npm run dev:token -- <customer-id>\n' +
      '  Prints a 24-hour development JWT for the orders API (signed with JWT_SECRET, or the\n' +
      '  development secret when unset). <customer-id>: 1 to 255 visible ASCII characters.',
  );
  process.exit(2);
}
console.log(await signDevToken(args[0]));
