import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration, parseDurationNanos } from '../../src/api/duration.js';

test('parses the duration forms Istio configs use', () => {
  assert.equal(parseDuration('1s'), 1000);
  assert.equal(parseDuration('0.5s'), 500);
  assert.equal(parseDuration('100ms'), 100);
  assert.equal(parseDuration('1h'), 3_600_000);
  assert.equal(parseDuration('2m30s'), 150_000);
  assert.equal(parseDuration('15m'), 900_000);
  assert.equal(parseDuration('1h2m3s4ms'), 3_723_004);
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration('0s'), 0);
});

test('parses the protobuf JSON form with nanosecond fractions exactly', () => {
  assert.equal(parseDurationNanos('1.000340012s'), 1_000_340_012n);
  assert.equal(parseDuration('0.001s'), 1);
  assert.equal(parseDuration('.5s'), 500);
  assert.equal(parseDuration('1.s'), 1000);
});

test('parses sub-millisecond units (so the >= 1ms rule can reject them)', () => {
  assert.equal(parseDuration('500us'), 0.5);
  assert.equal(parseDuration('500µs'), 0.5);
  assert.equal(parseDuration('1ns'), 1e-6);
  assert.equal(parseDuration('-1s'), -1000);
});

test('rejects what Go time.ParseDuration rejects', () => {
  for (const bad of ['', '1', '10', 's', '.s', '1.5', '1 s', '1sec', '1d', '1S', ' 1s', '1s ', '1m-1s', 'abc', '1e3s', '--1s']) {
    assert.equal(parseDuration(bad), undefined, `expected ${JSON.stringify(bad)} to be rejected`);
  }
});

test('rejects durations that overflow int64 nanoseconds', () => {
  assert.equal(parseDuration('2562047h'), 2562047 * 3_600_000);
  assert.equal(parseDuration('2562048h'), undefined);
});

test('formats durations for messages', () => {
  assert.equal(formatDuration(1500), '1.5s');
  assert.equal(formatDuration(100), '100ms');
  assert.equal(formatDuration(0.5), '500µs');
});
