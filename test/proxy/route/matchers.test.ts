/**
 * Building blocks of matching: the regex literal-prefix prefilter (it must never reject a value
 * RE2 would accept), query parameter lookup, and Host port stripping.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRegexTest, literalPrefix } from '../../../src/proxy/match/string-match.js';
import { findQueryParam } from '../../../src/proxy/http/route/matchers.js';
import { stripPort } from '../../../src/proxy/http/route/domains.js';

describe('literalPrefix', () => {
  const cases: [string, string][] = [
    ['/items/[0-9]+', '/items/'],
    ['^/api/v1/.*', '/api/v1/'],
    ['/reviews/\\d+', '/reviews/'],
    ['/a\\.b/c', '/a.b/c'],
    ['/ab?c', '/a'],
    ['/ab*', '/a'],
    ['/ab{2}', '/a'],
    ['/ab+', '/ab'],
    ['/a|/b', ''],
    ['(/a|/b)/c', ''],
    ['/x(a|b)', '/x'],
    ['/x[|]y|', ''],
    ['/x[|]y', '/x'],
    ['(?i)/abc', ''],
    ['.*', ''],
    ['/ü/[a-z]+', '/ü/'],
  ];
  for (const [src, want] of cases) test(`${src} → ${JSON.stringify(want)}`, () => assert.equal(literalPrefix(src), want));

  test('the prefilter agrees with RE2 on matches and non-matches', () => {
    const table: [string, string, boolean][] = [
      ['/ab?c', '/ac', true],
      ['/ab?c', '/abc', true],
      ['/ab*', '/a', true],
      ['/a|/b', '/b', true],
      ['/x(a|b)', '/xb', true],
      ['/items/[0-9]+', '/items/42', true],
      ['/items/[0-9]+', '/things/42', false],
      ['(?i)/abc', '/ABC', true],
      ['/a\\.b', '/a.b', true],
      ['/a\\.b', '/axb', false],
    ];
    for (const [src, value, want] of table) assert.equal(compileRegexTest(src, 'test')(value), want, `${src} on ${value}`);
  });
});

describe('literalPrefix: a `|` counts only outside classes, groups and escapes', () => {
  // A `|` wrongly taken as top-level only drops the prefilter (''); one wrongly taken as nested
  // keeps a prefix some matches do not start with, and RE2 would never see those values.
  const cases: [string, string][] = [
    ['/a\\|b', '/a|b'],
    ['/x[a|]', '/x'],
    ['/x[^]|]', '/x'],
    ['/x[]|]', '/x'],
    ['/x[\\]|]', '/x'],
    ['/x(a)|b', ''],
    ['/x(a)(b)|c', ''],
    ['/x((a)|b)', '/x'],
  ];
  for (const [src, want] of cases) test(`${src} → ${JSON.stringify(want)}`, () => assert.equal(literalPrefix(src), want));

  test('a top-level alternative after a group still matches through the compiled test', () => {
    const matches = compileRegexTest('/x(a)|/y', 'test');
    assert.equal(matches('/y'), true);
    assert.equal(matches('/xa'), true);
    assert.equal(matches('/x'), false);
  });
});

describe('literalPrefix: a metacharacter ends the literal prefix', () => {
  // Taken as a literal, `.` or `$` would keep a prefix that the values RE2 matches do not start with.
  const table: [string, string, string][] = [
    ['/a.b', '/a', '/axb'],
    ['/a$', '/a', '/a'],
    ['/a+', '/a', '/aaa'],
    ['/a(b)', '/a', '/ab'],
  ];
  for (const [src, prefix, value] of table) {
    test(`${src} → ${JSON.stringify(prefix)}, and matches ${value}`, () => {
      assert.equal(literalPrefix(src), prefix);
      assert.equal(compileRegexTest(src, 'test')(value), true);
    });
  }
});

describe('findQueryParam', () => {
  const cases: [string, string, string | undefined][] = [
    ['/p?a=1&b=2', 'b', '2'],
    ['/p?a=1&a=2', 'a', '1'],
    ['/p?a', 'a', ''],
    ['/p?a=', 'a', ''],
    ['/p?ab=1', 'a', undefined],
    ['/p?x=1&', 'a', undefined],
    ['/p', 'a', undefined],
    ['/p?a=%2Fx%20y', 'a', '/x y'],
    ['/p?a=%zz', 'a', '%zz'],
    ['/p?a=1#b=2', 'b', undefined],
    ['/p?a=b=c', 'a', 'b=c'],
  ];
  for (const [path, name, want] of cases) test(`${path} [${name}] → ${String(want)}`, () => assert.equal(findQueryParam(path, name), want));
});

describe('stripPort', () => {
  const cases: [string, string][] = [
    ['reviews:9080', 'reviews'],
    ['reviews', 'reviews'],
    ['reviews:', 'reviews:'],
    ['reviews:abc', 'reviews:abc'],
    ['[fd00::1]:8080', '[fd00::1]'],
    ['[fd00::1]', '[fd00::1]'],
    ['fd00::1', 'fd00::1'],
    ['10.0.0.1:80', '10.0.0.1'],
  ];
  for (const [host, want] of cases) test(`${host} → ${want}`, () => assert.equal(stripPort(host), want));
});
