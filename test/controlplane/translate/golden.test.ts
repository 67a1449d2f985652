/**
 * Golden tests of the translation: each testdata case's snapshot (and the warnings about config
 * left out) must equal its want.json, and must pass the proxy's own snapshot check. Refresh the
 * files with REFRESH_GOLDEN=1 after a deliberate change, and review the diff.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { translate } from '../../../src/controlplane/translate/index.js';
import { checkSnapshot } from '../../../src/proxy/snapshot.js';
import { caseNames, loadCase } from './cases.js';

const refresh = process.env.REFRESH_GOLDEN === '1';

for (const name of caseNames()) {
  test(`translate golden: ${name}`, () => {
    const c = loadCase(name);
    const warnings: string[] = [];
    const snapshot = translate({ config: c.config, registry: c.registry, proxy: c.proxy, ...(c.mesh ? { mesh: c.mesh } : {}), warn: (m) => warnings.push(m) });
    // Whatever the translation produces must be a snapshot the proxy accepts.
    assert.doesNotThrow(() => checkSnapshot(JSON.parse(JSON.stringify(snapshot))), 'the proxy rejects the snapshot');
    const got = JSON.parse(JSON.stringify({ warnings, snapshot })) as unknown;
    const file = join(c.dir, 'want.json');
    if (refresh) {
      writeFileSync(file, `${JSON.stringify(got, null, 2)}\n`);
      return;
    }
    let want: unknown;
    try {
      want = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      assert.fail(`${file}: ${(err as Error).message} (create it with REFRESH_GOLDEN=1)`);
    }
    assert.deepStrictEqual(got, want);
  });
}
