import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSelector } from '../../src/cli/label-selector.js';

const reviewsV2 = { app: 'reviews', version: 'v2', 'skiff.dev/tier': 'back' };

test('each requirement of kubectl\'s selector syntax, alone and joined by commas', () => {
  const cases: [string, boolean][] = [
    ['', true],
    ['app=reviews', true],
    ['app==reviews', true],
    ['app=ratings', false],
    ['app!=ratings', true],
    ['app!=reviews', false],
    ['missing!=x', true],
    ['version', true],
    ['!version', false],
    ['!missing', true],
    ['version in (v1, v2)', true],
    ['version in (v1,v3)', false],
    ['version notin (v1,v3)', true],
    ['missing notin (v1)', true],
    ['missing in (v1)', false],
    ['skiff.dev/tier=back', true],
    ['app=reviews,version in (v2),!missing', true],
    ['app=reviews, version=v1', false],
    ['app=', false],
  ];
  for (const [selector, expected] of cases) assert.equal(parseSelector(selector)(reviewsV2), expected, selector);
  assert.equal(parseSelector('app=')({ app: '' }), true, 'an empty value matches an empty label');
  assert.equal(parseSelector('!app')(undefined), true, 'a resource without labels');
});

test('a malformed selector is an error naming the part at fault', () => {
  assert.throws(() => parseSelector('app=reviews,,version=v1'), /found an empty requirement in selector "app=reviews,,version=v1"/);
  assert.throws(() => parseSelector('-app=x'), /invalid label key "-app" in selector "-app=x"/);
  assert.throws(() => parseSelector('app=a b'), /invalid label value "a b"/);
  assert.throws(() => parseSelector('version in (v1,v 2)'), /invalid label value "v 2"/);
});
