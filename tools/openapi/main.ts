// `npm run openapi` writes docs/openapi.json from the code; `--check` (in `npm run check`) fails
// when the committed file differs from what the code renders.
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { renderOpenApiDocument } from '../../apps/orders/src/openapi/openapi.document.js';

const target = fileURLToPath(new URL('../../../docs/openapi.json', import.meta.url));
const rendered = renderOpenApiDocument();

if (process.argv.includes('--check')) {
  const committed = await readFile(target, 'utf8').catch(() => '');
  if (committed !== rendered) {
    console.error(
      'docs/openapi.json is not what the code renders: run `npm run openapi` and commit the result.',
    );
    process.exit(1);
  }
  console.log('docs/openapi.json matches the code.');
} else {
  await writeFile(target, rendered);
  console.log(`Wrote ${target}`);
}
