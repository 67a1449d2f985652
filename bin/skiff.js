#!/usr/bin/env node
// The skiff command. The TypeScript sources are compiled to dist/ by `npm run build`
// (which `npm ci` runs through the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('skiff: dist/ is missing; run `npm run build` first\n');
  process.exit(2);
}
await import(main.href);
