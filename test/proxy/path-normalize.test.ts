/**
 * Request path normalisation under each of the mesh config's options: Istio's examples from its
 * normalisation and security pages, RFC 3986's dot-segment rules, what is refused, and
 * properties over generated paths (a normalised path has no dot segment, no fragment, and
 * normalises to itself).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeRequestPath } from '../../src/proxy/http/path-normalize.js';
import type { PathNormalization } from '../../src/snapshot/index.js';

const ALL: readonly PathNormalization[] = ['NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES'];
const DECODING: readonly PathNormalization[] = ['BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES'];

function norm(path: string, mode: PathNormalization, method = 'GET'): string {
  const r = normalizeRequestPath(method, path, mode);
  return typeof r === 'string' ? r : `refused: ${r.details}`;
}

describe('path normalisation', () => {
  test('a plain path is left as it is under every option', () => {
    for (const mode of ALL) {
      for (const p of ['/', '/productpage', '/api/v1/products/1?x=y', '/a.b/c..d/.e/..f/', '/a-b_c~d/?q=%zz/../x//y', '/static/app.js']) {
        assert.equal(norm(p, mode), p, `${mode} ${p}`);
      }
    }
  });

  test('the probes: `..` and `%2e%2e` segments resolve, the fragment is dropped', () => {
    for (const mode of DECODING) {
      assert.equal(norm('/raw/../status/418', mode), '/status/418');
      assert.equal(norm('/raw/%2e%2e/status/418', mode), '/status/418');
      assert.equal(norm('/raw/%2E%2e/status/418', mode), '/status/418');
      assert.equal(norm('/raw/frag#x', mode), '/raw/frag');
    }
    // NONE routes the path as sent, but a fragment never goes upstream.
    assert.equal(norm('/raw/../status/418', 'NONE'), '/raw/../status/418');
    assert.equal(norm('/raw/%2e%2e/status/418', 'NONE'), '/raw/%2e%2e/status/418');
    assert.equal(norm('/raw/frag#x', 'NONE'), '/raw/frag');
  });

  test("Istio's examples: percent-decoding, backslash, merged slashes, dot segments", () => {
    assert.equal(norm('/some%2fdata/%61%62%63', 'BASE'), '/some%2fdata/abc');
    assert.equal(norm('/some%2fdata/%61%62%63', 'MERGE_SLASHES'), '/some%2fdata/abc');
    assert.equal(norm('/some%2fdata/%61%62%63', 'DECODE_AND_MERGE_SLASHES'), '/some/data/abc');
    assert.equal(norm('/some\\data', 'BASE'), '/some/data');
    assert.equal(norm('\\da', 'BASE'), 'refused: http.invalid_path', 'a target must start with /');
    assert.equal(norm('/\\da', 'BASE'), '//da');
    assert.equal(norm('/some//data///abc', 'BASE'), '/some//data///abc');
    assert.equal(norm('/some//data///abc', 'MERGE_SLASHES'), '/some/data/abc');
    assert.equal(norm('/a//b', 'DECODE_AND_MERGE_SLASHES'), '/a/b');
    assert.equal(norm('/public/./data/abc/../xyz', 'BASE'), '/public/data/xyz');
    assert.equal(norm('/a/../b', 'BASE'), '/b');
    assert.equal(norm('/a%2fb', 'DECODE_AND_MERGE_SLASHES'), '/a/b');
    assert.equal(norm('/a%2Fb', 'DECODE_AND_MERGE_SLASHES'), '/a/b');
    assert.equal(norm('/a%5Cb', 'DECODE_AND_MERGE_SLASHES'), '/a/b');
    assert.equal(norm('/a%5cb', 'MERGE_SLASHES'), '/a%5cb');
  });

  test('unreserved characters are decoded, any other escape is kept as sent (its case too)', () => {
    assert.equal(norm('/%41%5a%61%7A%30%39%2D%2E%5F%7E', 'BASE'), '/AZaz09-._~');
    assert.equal(norm('/a%3a%3Ab%20c%25', 'BASE'), '/a%3a%3Ab%20c%25');
    assert.equal(norm('/%252e%252e/x', 'BASE'), '/%252e%252e/x', 'decoded once: %25 stays, so no second decoding');
    assert.equal(norm('/%2e/x', 'BASE'), '/x');
    assert.equal(norm('/a/.%2e/b', 'BASE'), '/b');
  });

  test('escaped slashes are decoded only under DECODE_AND_MERGE_SLASHES, before dot segments resolve', () => {
    assert.equal(norm('/a/b%2f..%2fc', 'MERGE_SLASHES'), '/a/b%2f..%2fc');
    assert.equal(norm('/a/b%2f..%2fc', 'DECODE_AND_MERGE_SLASHES'), '/a/c');
    assert.equal(norm('/a%5c..%5cb', 'DECODE_AND_MERGE_SLASHES'), '/b');
    assert.equal(norm('/a%2f%2fb', 'DECODE_AND_MERGE_SLASHES'), '/a/b');
  });

  test('dot segments as RFC 3986 §5.2.4 resolves them: `..` above the root stays at the root', () => {
    const cases: [string, string][] = [
      ['/..', '/'],
      ['/../../a', '/a'],
      ['/a/..', '/'],
      ['/a/.', '/a/'],
      ['/a/b/..', '/a/'],
      ['/.', '/'],
      ['/./a', '/a'],
      ['/a/./b/../../c/', '/c/'],
      ['/a/.../b', '/a/.../b'],
      ['/a//../b', '/a/b'],
      ['/a/..?x', '/?x'],
      ['/a/.#f', '/a/'],
    ];
    for (const [p, want] of cases) assert.equal(norm(p, 'BASE'), want, p);
    // Slashes merge after the dot segments resolve (Istio's order).
    assert.equal(norm('/a//../b', 'MERGE_SLASHES'), '/a/b');
    assert.equal(norm('/..//x', 'BASE'), '//x');
    assert.equal(norm('/..//x', 'MERGE_SLASHES'), '/x');
  });

  test('the query is kept as sent and the fragment dropped', () => {
    for (const mode of DECODING) {
      assert.equal(norm('/a/../b?x=/../y&z=%2e%2e//#frag', mode), '/b?x=/../y&z=%2e%2e//');
      assert.equal(norm('/a?b#c', mode), '/a?b');
      assert.equal(norm('/a?b%zz', mode), '/a?b%zz', 'a malformed escape in the query is the app’s business');
      assert.equal(norm('/a#b?c', mode), '/a');
      assert.equal(norm('/#', mode), '/');
    }
    assert.equal(norm('/a?b#c', 'NONE'), '/a?b');
  });

  test('refused: malformed escapes under the decoding options, %00 under every option', () => {
    for (const mode of DECODING) {
      for (const p of ['/a%zz', '/a%4', '/a%', '/a%4?x=1', '/%g0/b', '/a%2']) assert.equal(norm(p, mode), 'refused: path_normalization_failed', `${mode} ${p}`);
    }
    assert.equal(norm('/a%zz', 'NONE'), '/a%zz');
    for (const mode of ALL) assert.equal(norm('/a%00b', mode), 'refused: path_normalization_failed', mode);
  });

  test('request targets that are not paths: `OPTIONS *` and CONNECT pass, anything else not starting with `/` is refused', () => {
    for (const mode of ALL) {
      assert.equal(norm('*', mode, 'OPTIONS'), '*');
      assert.equal(norm('x:1', mode, 'CONNECT'), 'x:1');
      assert.equal(norm('*', mode, 'GET'), 'refused: http.invalid_path');
      assert.equal(norm('abc', mode), 'refused: http.invalid_path');
      assert.equal(norm('', mode), 'refused: http.invalid_path');
      assert.equal(norm('?x', mode), 'refused: http.invalid_path');
    }
  });

  test('over generated paths: no dot segment or fragment is left, and a normalised path normalises to itself', () => {
    // A fixed generator over the characters that matter, so a failure names a path that reproduces.
    let seed = 0x5eed;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 8;
    };
    const pieces = ['/', '/', '.', '..', 'a', 'b', '%2e', '%2E', '%2f', '%5c', '\\', '//', '?', '#', '%41', '%3a', '~', '-'];
    for (let n = 0; n < 5000; n++) {
      let p = '/';
      const len = 1 + (next() % 10);
      for (let k = 0; k < len; k++) p += pieces[next() % pieces.length];
      for (const mode of DECODING) {
        const r = normalizeRequestPath('GET', p, mode);
        assert.equal(typeof r, 'string', `${mode} ${JSON.stringify(p)} refused`);
        const out = r as string;
        const q = out.search(/[?#]/);
        const pathPart = q < 0 ? out : out.slice(0, q);
        assert.ok(!out.includes('#'), `${mode} ${JSON.stringify(p)} → ${JSON.stringify(out)} keeps a fragment`);
        assert.ok(!/(^|\/)\.\.?(\/|$)/.test(pathPart), `${mode} ${JSON.stringify(p)} → ${JSON.stringify(out)} keeps a dot segment`);
        assert.ok(!pathPart.includes('\\'), `${mode} ${JSON.stringify(p)} → ${JSON.stringify(out)} keeps a backslash`);
        if (mode !== 'BASE') assert.ok(!pathPart.includes('//'), `${mode} ${JSON.stringify(p)} → ${JSON.stringify(out)} keeps //`);
        assert.equal(normalizeRequestPath('GET', out, mode), out, `${mode} ${JSON.stringify(p)} → ${JSON.stringify(out)} is not stable`);
      }
    }
  });
});
