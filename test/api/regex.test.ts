import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRegex } from '../../src/api/regex.js';

test('the matcher matches the whole string, as Envoy safe_regex does', () => {
  const r = compileRegex('/api/v[0-9]+');
  assert.ok(r.ok);
  assert.equal(r.matcher('/api/v1'), true);
  assert.equal(r.matcher('/api/v12'), true);
  assert.equal(r.matcher('/api/v1/users'), false);
  assert.equal(r.matcher('x/api/v1'), false);
});

test('RE2 syntax: character classes, alternation, case-insensitive flag', () => {
  const r = compileRegex('(?i)(foo|bar)\\d{2}\\pL*');
  assert.ok(r.ok);
  assert.equal(r.matcher('FOO12abc'), true);
  assert.equal(r.matcher('baz12'), false);
});

test('lookahead is not RE2 and is reported with RE2\'s message', () => {
  const r = compileRegex('foo(?=bar)');
  assert.equal(r.ok, false);
  assert.ok(!r.ok && /invalid or unsupported Perl syntax: `\(\?=`/.test(r.error), !r.ok ? r.error : '');
});

test('backreferences are not RE2', () => {
  const r = compileRegex('(a)\\1');
  assert.equal(r.ok, false);
});

test('syntax errors carry the reason', () => {
  const r = compileRegex('a(b');
  assert.equal(r.ok, false);
  assert.ok(!r.ok && r.error.includes('missing closing )'), !r.ok ? r.error : '');
});
