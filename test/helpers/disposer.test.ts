/**
 * The disposer that makes a test file's teardown certain: everything registered is closed, last
 * first, whatever fails; and a real test file whose setup throws after opening a server and a
 * child process reports the hook's error and exits, instead of keeping `npm test` waiting.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Disposer } from './disposer.js';
import { runTestFile } from './node-test.js';

describe('Disposer', () => {
  test('drain closes everything registered, last first, and leaves the disposer empty', async () => {
    const closed: string[] = [];
    const d = new Disposer();
    assert.equal(
      d.add('api', (r) => closed.push(r)),
      'api',
    );
    d.defer(() => closed.push('setting'));
    d.add('proxy', async (r) => {
      await Promise.resolve();
      closed.push(r);
    });
    await d.drain();
    assert.deepEqual(closed, ['proxy', 'setting', 'api']);
    await d.drain();
    assert.deepEqual(closed, ['proxy', 'setting', 'api'], 'a second drain closes nothing again');
  });

  test('a step that fails does not stop the others; one failure is thrown as it is, several together', async () => {
    const closed: string[] = [];
    const one = new Disposer();
    one.add('a', (r) => closed.push(r));
    one.defer(() => {
      throw new Error('b would not close');
    });
    one.add('c', (r) => closed.push(r));
    await assert.rejects(one.drain(), { message: 'b would not close' });
    assert.deepEqual(closed, ['c', 'a']);

    const two = new Disposer();
    two.defer(() => Promise.reject(new Error('x failed')));
    two.defer(() => closed.push('between'));
    two.defer(() => {
      throw new Error('y failed');
    });
    await assert.rejects(two.drain(), (err: unknown) => {
      assert.ok(err instanceof AggregateError);
      assert.equal(err.message, '2 teardown steps failed: y failed; x failed');
      return true;
    });
    assert.equal(closed.at(-1), 'between');
  });

  test('setup: a body that throws has what it registered closed, then its own error thrown on', async () => {
    const closed: string[] = [];
    const d = new Disposer();
    const setup = d.setup(async () => {
      d.add('server', (r) => closed.push(r));
      d.add('child', (r) => closed.push(r));
      throw new Error('setup broke');
    });
    await assert.rejects(setup(), { message: 'setup broke' });
    assert.deepEqual(closed, ['child', 'server']);
    await d.drain();
    assert.deepEqual(closed, ['child', 'server'], 'the after hook finds nothing left to close');
  });

  test('setup: when closing fails too, both the setup error and the teardown error are thrown', async () => {
    const d = new Disposer();
    const setup = d.setup(() => {
      d.defer(() => {
        throw new Error('close failed');
      });
      throw new Error('setup broke');
    });
    await assert.rejects(setup(), (err: unknown) => {
      assert.ok(err instanceof AggregateError);
      assert.deepEqual(
        err.errors.map((e: Error) => e.message),
        ['setup broke', 'close failed'],
      );
      assert.match(err.message, /^setup failed: setup broke; closing what it had opened failed too$/);
      return true;
    });
  });

  test('tempDir: a fresh directory, removed with what it holds by the drain', async () => {
    const d = new Disposer();
    const dir = d.tempDir('skiff-disposer-');
    writeFileSync(join(dir, 'kubeconfig'), 'apiVersion: v1\n');
    await d.drain();
    assert.equal(existsSync(dir), false);
  });

  test('setup: a body that succeeds closes nothing until the drain', async () => {
    const closed: string[] = [];
    const d = new Disposer();
    await d.setup(() => d.add('server', (r) => closed.push(r)))();
    assert.deepEqual(closed, []);
    await d.drain();
    assert.deepEqual(closed, ['server']);
  });
});

describe('a test file whose setup throws after opening a server and a child process', () => {
  // Generous: the file exits in well under a second. Reaching this means it hung.
  const KILL_AFTER_MS = 60_000;
  const SETUP_ERROR = `setup broke after opening a server and a process (${process.pid})`;

  for (const hook of ['before', 'beforeEach'] as const) {
    test(`thrown from ${hook}: the file reports the hook's error and exits non-zero, its child process killed`, async () => {
      const run = await runTestFile('helpers/fixtures/setup-throws.js', { SETUP_THROWS_HOOK: hook, SETUP_THROWS_MESSAGE: SETUP_ERROR }, KILL_AFTER_MS);
      assert.equal(run.killed, false, `the test file did not exit within ${KILL_AFTER_MS / 1000} s and was killed; what it printed:\n${run.output}`);
      assert.equal(run.code, 1, run.output);
      assert.ok(run.output.includes(SETUP_ERROR), run.output);
      const opened = /opened: port (\d+), pid (\d+)/.exec(run.output);
      assert.ok(opened, `the setup opened its server and child before throwing:\n${run.output}`);
      assert.throws(() => process.kill(Number(opened[2]), 0), { code: 'ESRCH' }, 'the setup’s child process was killed, not left behind');
    });
  }
});
