/**
 * The suite's own guards, checked by running real test files in a child `node --test` the way CI
 * runs them: a test that needs a missing tool or `../shared` skips with a message naming it, or
 * fails with it under SKIFF_REQUIRE_TOOLS=1; and a run with REFRESH_GOLDEN set fails without
 * touching a golden file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { repoRoot } from './cli.js';
import { runTestFile } from './node-test.js';
import { REQUIRE_TOOLS_VAR, SHARED_DIR_VAR, TOOLS, onPath, tool, toolsRequired } from './tools.js';

const empty = mkdtempSync(join(tmpdir(), 'skiff-guards-'));
after(() => rmSync(empty, { recursive: true, force: true }));

describe('a test that needs a missing tool', () => {
  test('the helper finds programs on PATH only, and names the package to install', () => {
    assert.equal(onPath(basename(process.execPath), dirname(process.execPath)), process.execPath);
    assert.equal(tool('chromium', { PATH: empty }).path, null);
    const missing = tool('redis-server', { PATH: empty });
    assert.match(String(missing.skip), /^redis-server not found on PATH; .*Install it with: apt-get install -y redis-server; skipping \(set SKIFF_REQUIRE_TOOLS=1/);
    assert.throws(() => missing.require(), { name: 'MissingToolError', message: /redis-server not found on PATH/ });
    const required = tool('redis-server', { PATH: empty, [REQUIRE_TOOLS_VAR]: '1' });
    assert.equal(required.skip, false, 'required: the test runs, and fails where it needs the tool');
    assert.throws(() => required.require(), { message: /apt-get install -y redis-server \(SKIFF_REQUIRE_TOOLS is set/ });
    assert.equal(toolsRequired({ [REQUIRE_TOOLS_VAR]: '0' }), false);
    assert.equal(toolsRequired({ [REQUIRE_TOOLS_VAR]: '' }), false);
    for (const name of ['chromium', 'prometheus', 'promtool', 'redis-server', 'iptables', 'kubectl'] as const) assert.ok(name in TOOLS, name);
  });

  test('Chromium hidden from PATH: the browser test skips, naming it and how to install it', async () => {
    const run = await runTestFile('dashboard/browser.test.js', { PATH: empty, [REQUIRE_TOOLS_VAR]: undefined });
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /the dashboard in a browser, on Bookinfo .*# chromium not found on PATH; it is needed for the dashboard browser test\. Install it with: apt-get install -y chromium; skipping/);
    assert.match(run.output, /pass 0\n.*fail 0\n/s, 'nothing ran');
  });

  test(`Chromium hidden from PATH under ${REQUIRE_TOOLS_VAR}=1: the browser test fails, naming it`, async () => {
    const run = await runTestFile('dashboard/browser.test.js', { PATH: empty, [REQUIRE_TOOLS_VAR]: '1' });
    assert.equal(run.code, 1, run.output);
    assert.match(run.output, /MissingToolError.*chromium not found on PATH.*apt-get install -y chromium \(SKIFF_REQUIRE_TOOLS is set/s);
    assert.match(run.output, /skipped 0/);
  });

  test(`../shared hidden under ${REQUIRE_TOOLS_VAR}=1: the tests on Istio's samples fail, naming it; without it they skip`, async () => {
    const file = 'config/istio-samples.test.js';
    const required = await runTestFile(file, { [SHARED_DIR_VAR]: empty, [REQUIRE_TOOLS_VAR]: '1' });
    assert.equal(required.code, 1, required.output);
    assert.match(required.output, /\.\.\/shared\/istio-samples not found/);
    assert.match(required.output, /fail 2/);
    const skipped = await runTestFile(file, { [SHARED_DIR_VAR]: empty, [REQUIRE_TOOLS_VAR]: undefined });
    assert.equal(skipped.code, 0, skipped.output);
    assert.match(skipped.output, /skipped 2/);
  });
});

describe('REFRESH_GOLDEN', () => {
  test('a test run with it set fails, naming it and the refresh script, and writes no golden file', async () => {
    const testdata = join(repoRoot, 'test', 'controlplane', 'translate', 'testdata');
    const goldens = (): string[] =>
      readdirSync(testdata)
        .filter((d) => !d.startsWith('_'))
        .map((d) => readFileSync(join(testdata, d, 'want.json'), 'utf8'));
    const before = goldens();
    const run = await runTestFile('controlplane/translate/golden.test.js', { REFRESH_GOLDEN: '1' });
    assert.equal(run.code, 1, run.output);
    assert.match(run.output, /REFRESH_GOLDEN=1 is set, but the test run never rewrites golden files; unset it, and run `npm run golden:refresh`/);
    assert.match(run.output, /fail 1\n/, 'the guard alone fails: every case still compared and passed');
    assert.deepEqual(goldens(), before);
  });
});
