/**
 * Golden tests of the translation: each testdata case's snapshot (and the warnings about config
 * left out) must equal its want.json, and must pass the proxy's own snapshot check. The test only
 * ever compares: after a deliberate change, rewrite the files with `npm run golden:refresh` and
 * review the diff.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { caseNames, loadCase } from './cases.js';
import { REFRESH_VAR, goldenFile, translateCase } from './golden.js';

test(`${REFRESH_VAR} is not set: goldens are refreshed by npm run golden:refresh, never by a test run`, () => {
  const value = process.env[REFRESH_VAR];
  assert.equal(
    value,
    undefined,
    `${REFRESH_VAR}=${value ?? ''} is set, but the test run never rewrites golden files; unset it, and run \`npm run golden:refresh\` to refresh them`,
  );
});

for (const name of caseNames()) {
  test(`translate golden: ${name}`, () => {
    const c = loadCase(name);
    const got = translateCase(c);
    const file = goldenFile(c);
    let want: unknown;
    try {
      want = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      assert.fail(`${file}: ${(err as Error).message} (create it with \`npm run golden:refresh\`)`);
    }
    assert.deepStrictEqual(got, want);
  });
}
