/**
 * The push debounce (Istio's PILOT_DEBOUNCE_AFTER / PILOT_DEBOUNCE_MAX) on node:test's mock
 * clock: a run starts once changes pause for the quiet period, or at the cap under a steady
 * stream of them; an urgent change without waiting; runs never overlap, a change during a run
 * schedules exactly one more.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import { Debouncer } from '../../../src/controlplane/push/debounce.js';

/** A run that records when it started and finishes only when told to (`finish()`). */
function recorder(): { runs: number[]; finish(): void; run: () => Promise<void> } {
  const runs: number[] = [];
  let pending: (() => void)[] = [];
  return {
    runs,
    finish: () => {
      const waiting = pending;
      pending = [];
      for (const f of waiting) f();
    },
    run: () => {
      runs.push(Date.now());
      return new Promise<void>((resolve) => pending.push(resolve));
    },
  };
}

/** Lets the promise callbacks of a finished run go through (no time passes on the mock clock). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

function clock(t: TestContext): void {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
}

/** Moves the mock clock on a millisecond at a time, so a timer's callback reads its own due time. */
async function advance(t: TestContext, ms: number): Promise<void> {
  for (let i = 0; i < ms; i++) {
    t.mock.timers.tick(1);
    await settle();
  }
}

describe('Debouncer', () => {
  test('a burst with gaps shorter than the quiet period is one run, a quiet period after its last change', async (t) => {
    clock(t);
    const r = recorder();
    const d = new Debouncer(r.run, 100, 500);
    for (let i = 0; i < 5; i++) {
      d.trigger();
      t.mock.timers.tick(10);
    }
    // Last change at 40 ms (the clock is at 50): nothing before 140 ms, the run at 140 ms.
    t.mock.timers.tick(89);
    assert.deepEqual(r.runs, []);
    t.mock.timers.tick(1);
    assert.deepEqual(r.runs, [140]);
    r.finish();
    await settle();
    await d.idle();
  });

  test('an urgent change runs at once, taking along the changes pending in its burst; later ones wait for the quiet period again', async (t) => {
    clock(t);
    const r = recorder();
    const d = new Debouncer(r.run, 100, 500);
    d.trigger();
    t.mock.timers.tick(30);
    d.trigger(true);
    assert.deepEqual(r.runs, [], 'on the next turn, not within the call');
    t.mock.timers.tick(0);
    assert.deepEqual(r.runs, [30], 'one run, not the quiet period after the first change');
    r.finish();
    await settle();
    d.trigger();
    t.mock.timers.tick(99);
    assert.deepEqual(r.runs, [30]);
    t.mock.timers.tick(1);
    assert.deepEqual(r.runs, [30, 130]);
    r.finish();
    await settle();
    await d.idle();
  });

  test('a steady stream of changes runs at the cap, measured from the first change of each burst', async (t) => {
    clock(t);
    const r = recorder();
    const d = new Debouncer(async () => void r.runs.push(Date.now()), 60, 150);
    // A change every 20 ms for 600 ms never leaves a 60 ms quiet period.
    for (let at = 0; at < 600; at += 20) {
      d.trigger();
      await advance(t, 20);
    }
    // Bursts start at 0, 160, 320 and 480 (the first change after each run).
    assert.deepEqual(r.runs, [150, 310, 470], 'each burst capped 150 ms after its first change');
    await advance(t, 60);
    assert.deepEqual(r.runs, [150, 310, 470, 630], 'the last one too, its cap coming before a quiet period after its last change (640)');
    await d.idle();
  });

  test('a change during a run schedules one more run after it, never an overlapping one', async (t) => {
    clock(t);
    const r = recorder();
    const d = new Debouncer(r.run, 10, 50);
    d.trigger();
    t.mock.timers.tick(10);
    assert.deepEqual(r.runs, [10]);
    // Three changes while the run is still going: their debounce fires, but waits for the run.
    d.trigger();
    t.mock.timers.tick(5);
    d.trigger();
    d.trigger();
    t.mock.timers.tick(100);
    assert.deepEqual(r.runs, [10], 'no second run while the first is going');
    let idle = false;
    void d.idle().then(() => (idle = true));
    r.finish();
    await settle();
    assert.deepEqual(r.runs, [10, 115], 'one more run, as soon as the first ended');
    assert.equal(idle, false, 'not idle while the second run goes');
    r.finish();
    await settle();
    assert.equal(idle, true);
  });

  test('idle() waits for the scheduled run; stop() cancels it and wakes the waiters', async (t) => {
    clock(t);
    const r = recorder();
    const d = new Debouncer(r.run, 100, 500);
    await d.idle(); // nothing scheduled: at once
    d.trigger();
    let idle = false;
    void d.idle().then(() => (idle = true));
    t.mock.timers.tick(50);
    d.stop();
    await settle();
    assert.equal(idle, true);
    d.trigger();
    t.mock.timers.tick(1000);
    assert.deepEqual(r.runs, [], 'a stopped debouncer never runs');
  });

  test('a failing run does not stop later ones', async (t) => {
    clock(t);
    let calls = 0;
    const d = new Debouncer(() => (calls++ === 0 ? Promise.reject(new Error('translation failed')) : Promise.resolve()), 10, 50);
    d.trigger();
    t.mock.timers.tick(10);
    await settle();
    d.trigger();
    t.mock.timers.tick(10);
    await settle();
    assert.equal(calls, 2);
    await d.idle();
  });
});
