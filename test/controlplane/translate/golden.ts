/**
 * The golden files of the translation: what each testdata case translates to (its snapshot and
 * the warnings about config left out), as stored in its `want.json`. The golden test compares;
 * `npm run golden:refresh` (refresh-golden.ts) rewrites the files after a deliberate change.
 */
import { join } from 'node:path';
import { translate } from '../../../src/controlplane/translate/index.js';
import { checkSnapshot } from '../../../src/proxy/snapshot.js';
import type { TranslateCase } from './cases.js';

/** The variable an older workflow used to rewrite the files from the test run; the run now fails when it is set. */
export const REFRESH_VAR = 'REFRESH_GOLDEN';

/** A case's golden file. */
export function goldenFile(c: TranslateCase): string {
  return join(c.dir, 'want.json');
}

/**
 * What the case translates to, as JSON sees it. Throws when the proxy's own snapshot check
 * refuses the snapshot: a golden file never records a snapshot no proxy would take.
 */
export function translateCase(c: TranslateCase): unknown {
  const warnings: string[] = [];
  const snapshot = translate({ config: c.config, registry: c.registry, proxy: c.proxy, ...(c.mesh ? { mesh: c.mesh } : {}), warn: (m) => warnings.push(m) });
  const plain = JSON.parse(JSON.stringify({ warnings, snapshot })) as { warnings: string[]; snapshot: unknown };
  checkSnapshot(JSON.parse(JSON.stringify(plain.snapshot)));
  return plain;
}

/** The text a golden file holds for `value`. */
export function goldenText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
