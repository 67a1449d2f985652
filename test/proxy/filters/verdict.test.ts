/**
 * Waits as filters build them and runners follow them: a timer wait and a promise wait, each
 * resumed or cancelled, and `follow` through chained waits, waits that resume at once, a `start`
 * that throws, and resumes that come too late.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { localReply, type HttpVerdict } from '../../../src/proxy/filters/http-filter.js';
import { CONTINUE, follow, waitFor, waitMs, waitOn, type Resume, type Wait } from '../../../src/proxy/filters/verdict.js';

const DENIED = localReply(403, 'denied', 0, 'denied');
const FAILED = localReply(500, '', 0, 'failed');

/** Follows `w`, recording the flags of each wait begun and the verdicts settled. */
function run(w: Wait<HttpVerdict>): { flags: number[]; settled: HttpVerdict[]; cancel: () => void } {
  const flags: number[] = [];
  const settled: HttpVerdict[] = [];
  const cancel = follow<HttpVerdict>(
    w,
    (x) => flags.push(x.flags),
    (v) => settled.push(v),
    () => FAILED,
  );
  return { flags, settled, cancel };
}

/** A wait the test resumes by hand. */
function manual(flags = 0): { wait: Wait<HttpVerdict>; resume: () => Resume<HttpVerdict>; cancelled: () => boolean } {
  let resume: Resume<HttpVerdict> | null = null;
  let cancelled = false;
  const wait = waitFor<HttpVerdict>((r) => {
    resume = r;
    return () => (cancelled = true);
  }, flags);
  return { wait, resume: () => resume!, cancelled: () => cancelled };
}

describe('waits', () => {
  test('waitMs resumes with its verdict when the timer fires, and not before', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { settled } = run(waitMs<HttpVerdict>(100, DENIED));
    t.mock.timers.tick(99);
    assert.deepEqual(settled, []);
    t.mock.timers.tick(1);
    assert.deepEqual(settled, [DENIED]);
  });

  test('a cancelled waitMs never resumes', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { settled, cancel } = run(waitMs<HttpVerdict>(100, DENIED));
    cancel();
    t.mock.timers.tick(1000);
    assert.deepEqual(settled, []);
  });

  test('waitOn resumes with what the promise resolves to', async () => {
    const { settled } = run(waitOn<HttpVerdict>(async () => DENIED, () => FAILED));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(settled, [DENIED]);
  });

  test('waitOn turns a rejection into the filter\'s failure verdict', async () => {
    const { settled } = run(waitOn<HttpVerdict>(() => Promise.reject(new Error('jwks unreachable')), (err) => localReply(401, String((err as Error).message), 0, 'jwks_fetch_failed')));
    await new Promise((r) => setImmediate(r));
    assert.equal(settled.length, 1);
    assert.equal(settled[0].kind === 'reply' && settled[0].body, 'jwks unreachable');
  });

  test('waitOn: cancelling aborts the signal it handed out, and the result is dropped', async () => {
    let signal: AbortSignal | null = null;
    let finish: (v: HttpVerdict) => void = () => {};
    const { settled, cancel } = run(
      waitOn<HttpVerdict>(
        (s) => {
          signal = s;
          return new Promise((resolve) => (finish = resolve));
        },
        () => FAILED,
      ),
    );
    assert.equal(signal!.aborted, false);
    cancel();
    assert.equal(signal!.aborted, true);
    finish(CONTINUE);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(settled, []);
  });
});

describe('follow', () => {
  test('through a wait that resumes with another wait, to the final verdict; each wait\'s flags heard', () => {
    const a = manual(1);
    const b = manual(2);
    const { flags, settled } = run(a.wait);
    a.resume()(b.wait);
    assert.deepEqual(settled, []);
    b.resume()(CONTINUE);
    assert.deepEqual(flags, [1, 2]);
    assert.deepEqual(settled, [CONTINUE]);
  });

  test('a wait that resumes within start settles at once', () => {
    const { settled } = run(
      waitFor<HttpVerdict>((resume) => {
        resume(DENIED);
        return () => assert.fail('nothing to cancel');
      }),
    );
    assert.deepEqual(settled, [DENIED]);
  });

  test('cancel stops the wait in progress (the second of a chain), and later resumes do nothing', () => {
    const a = manual();
    const b = manual();
    const { settled, cancel } = run(a.wait);
    a.resume()(b.wait);
    cancel();
    assert.equal(a.cancelled(), false, 'the first wait was over');
    assert.equal(b.cancelled(), true);
    b.resume()(CONTINUE);
    a.resume()(CONTINUE);
    assert.deepEqual(settled, []);
  });

  test('only the first resume of a wait counts', () => {
    const a = manual();
    const { settled } = run(a.wait);
    a.resume()(DENIED);
    a.resume()(CONTINUE);
    assert.deepEqual(settled, [DENIED]);
  });

  test('a start that throws ends the wait with the failure verdict', () => {
    const { settled } = run(
      waitFor<HttpVerdict>(() => {
        throw new Error('bug');
      }),
    );
    assert.deepEqual(settled, [FAILED]);
  });
});
