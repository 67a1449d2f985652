/**
 * Consistent-hash keys from requests (header, cookie with generation and TTL, source IP, query
 * parameter) and the hash function's spread.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cookieHashKey, hashKeyFor, makeSetCookie, readCookie } from '../../../src/proxy/upstream/hash-key.js';
import { hashString, hashKey } from '../../../src/proxy/upstream/hash.js';

const req = (o: Partial<Parameters<typeof hashKeyFor>[1]> = {}): Parameters<typeof hashKeyFor>[1] => ({
  headers: {},
  path: '/productpage',
  sourceIp: '10.0.0.7',
  ...o,
});

describe('hashKeyFor', () => {
  test('header: the value; several values hash alike in any order; absent gives no key', () => {
    assert.equal(hashKeyFor({ header: 'x-user' }, req({ headers: { 'x-user': 'jason' } })).hashKey, 'jason');
    const ab = hashKeyFor({ header: 'x-tag' }, req({ headers: { 'x-tag': ['a', 'b'] } })).hashKey;
    const ba = hashKeyFor({ header: 'x-tag' }, req({ headers: { 'x-tag': ['b', 'a'] } })).hashKey;
    assert.equal(ab, ba);
    assert.deepEqual(hashKeyFor({ header: 'x-user' }, req()), { hashKey: undefined, setCookie: undefined });
  });

  test('source IP, with IPv4-mapped IPv6 treated as IPv4', () => {
    assert.equal(hashKeyFor({ sourceIp: true }, req({ sourceIp: '::ffff:10.0.0.7' })).hashKey, '10.0.0.7');
    assert.equal(hashKeyFor({ sourceIp: true }, req({ sourceIp: 'fd00::7' })).hashKey, 'fd00::7');
  });

  test('query parameter: first value, decoded; absent gives no key', () => {
    assert.equal(hashKeyFor({ queryParameter: 'user' }, req({ path: '/p?x=1&user=j%C3%A4son&user=other' })).hashKey, 'jäson');
    assert.equal(hashKeyFor({ queryParameter: 'user' }, req({ path: 'http://reviews:9080/p?user=a#frag' })).hashKey, 'a');
    assert.equal(hashKeyFor({ queryParameter: 'user' }, req({ path: '/p?x=1' })).hashKey, undefined);
  });

  test('cookie present: its value, quotes removed, nothing to set', () => {
    const source = { cookie: { name: 'session', ttlMs: 60_000 } };
    assert.deepEqual(hashKeyFor(source, req({ headers: { cookie: 'a=1; session="abc123"; b=2' } })), { hashKey: 'abc123', setCookie: undefined });
  });

  test('cookie absent without a TTL: no key and no cookie (Envoy)', () => {
    assert.deepEqual(hashKeyFor({ cookie: { name: 'session' } }, req({ headers: { cookie: 'other=1' } })), { hashKey: undefined, setCookie: undefined });
  });

  test('cookie absent with a TTL: generated, stable per connection, Set-Cookie in Envoy\'s shape', () => {
    const cookie = { name: 'session', path: '/', ttlMs: 3_600_000 };
    const first = cookieHashKey(cookie, undefined, '10.0.0.7:51000|10.0.0.1:15001');
    assert.match(first.hashKey!, /^[0-9a-f]{16}$/);
    assert.equal(first.setCookie, `session="${first.hashKey}"; Max-Age=3600; Path=/; HttpOnly`);
    assert.deepEqual(cookieHashKey(cookie, undefined, '10.0.0.7:51000|10.0.0.1:15001'), first);
    assert.notEqual(cookieHashKey(cookie, undefined, '10.0.0.7:51001|10.0.0.1:15001').hashKey, first.hashKey);
    // The browser sends it back; the same key results.
    assert.equal(cookieHashKey(cookie, first.setCookie.split(';')[0], 'another-connection').hashKey, first.hashKey);
  });

  test('TTL 0 makes a session cookie (no Max-Age)', () => {
    assert.equal(makeSetCookie({ name: 's', ttlMs: 0 }, 'v'), 's="v"; HttpOnly');
  });

  test('readCookie finds the cookie among several Cookie headers', () => {
    assert.equal(readCookie(['a=1', 'b=2; user=x'], 'user'), 'x');
    assert.equal(readCookie('username=x', 'user'), undefined);
  });
});

describe('hash function', () => {
  test('spreads similar keys evenly over 16 buckets', () => {
    const buckets = new Array<number>(16).fill(0);
    for (let i = 0; i < 32_000; i++) buckets[hashString(`10.0.0.1:8080_${i}`) >>> 28]++;
    for (const b of buckets) assert.ok(b > 1700 && b < 2300, `bucket holds ${b} of an expected 2000`);
  });

  test('seeds give independent hashes; numbers are mixed', () => {
    assert.notEqual(hashString('10.0.0.1:8080', 0), hashString('10.0.0.1:8080', 1));
    assert.notEqual(hashKey(1) + 1, hashKey(2));
    assert.equal(hashKey('abc'), hashString('abc'));
  });

  test("is MurmurHash3 x86_32 over the string's UTF-16LE bytes: the algorithm's published test vectors", () => {
    // Two bytes make one UTF-16 code unit, low byte first; the vectors are for even byte lengths.
    const units = (...bytes: number[]): string => {
      let s = '';
      for (let i = 0; i < bytes.length; i += 2) s += String.fromCharCode(bytes[i] | (bytes[i + 1] << 8));
      return s;
    };
    const vectors: [string, number, number][] = [
      ['', 0, 0x00000000],
      ['', 1, 0x514e28b7],
      ['', 0xffffffff, 0x81f16f39],
      [units(0xff, 0xff, 0xff, 0xff), 0, 0x76293b50],
      [units(0x21, 0x43, 0x65, 0x87), 0, 0xf55b516b],
      [units(0x21, 0x43, 0x65, 0x87), 0x5082edee, 0x2362f9de],
      [units(0x21, 0x43), 0, 0xa0f7b07a],
      [units(0x00, 0x00, 0x00, 0x00), 0, 0x2362f9de],
      [units(0x00, 0x00), 0, 0x30f4c306],
      [units(...Buffer.from('test')), 0, 0xba6bd213],
    ];
    for (const [input, seed, want] of vectors) assert.equal(hashString(input, seed), want, `seed ${seed.toString(16)} over ${JSON.stringify(input)}`);
  });
});
