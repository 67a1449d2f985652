/**
 * The mirror filter: which clusters get a shadow copy of a request, each drawn independently by
 * its percentage (drawn through a compiled route, as the proxy compiles it), and the authority a
 * shadow carries.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { MirrorPolicy } from '../../../src/snapshot/index.js';
import { compileMirrors, shadowAuthority } from '../../../src/proxy/filters/mirror/mirror.js';
import type { SelectedRoute } from '../../../src/proxy/http/route/selected.js';
import { compile, oneHost, request, seeded, sequence } from '../route/helpers.js';
import { assertNear, mirrorsOf, only } from './helpers.js';

describe('mirroring', () => {
  function mirrors(ms: MirrorPolicy[]): SelectedRoute {
    const t = compile(oneHost([{ name: 'r', match: [], action: { type: 'route', destinations: [{ cluster: 'v1', weight: 1 }], mirrors: ms } }]));
    return t.select(request())!;
  }

  test('no percentage = 100 %', () => {
    const sel = mirrors([{ cluster: 'v2' }]);
    for (let i = 0; i < 100; i++) assert.deepEqual(mirrorsOf(sel, Math.random), ['v2']);
  });

  test('percentage 0 never mirrors', () => {
    const sel = mirrors([{ cluster: 'v2', percent: 0 }]);
    for (let i = 0; i < 100; i++) assert.deepEqual(mirrorsOf(sel, Math.random), []);
  });

  test('25 % over 10000 seeded requests; several mirrors drawn independently', () => {
    const sel = mirrors([{ cluster: 'a', percent: 25 }, { cluster: 'b', percent: 100 }]);
    const random = seeded(9);
    let a = 0;
    for (let i = 0; i < 10_000; i++) {
      const m = mirrorsOf(sel, random);
      assert.ok(m.includes('b'));
      if (m.includes('a')) a++;
    }
    assertNear(a, 10_000, 0.25, 'mirrored to a');
  });

  test('a route without mirrors has no mirror filter: nothing is drawn per request', () => {
    assert.equal(only({}).filters.mirror, null);
    assert.equal(mirrors([{ cluster: 'v2', percent: 0 }]).filters.mirror, null);
  });

  test('a mirror not drawn returns the shared empty list', () => {
    const sel = mirrors([{ cluster: 'v2', percent: 1 }]);
    const never = sequence(0.5);
    assert.equal(mirrorsOf(sel, never), mirrorsOf(sel, never));
    assert.equal(mirrorsOf(sel, never).length, 0);
  });

  test('mirrored authority gets the -shadow suffix before the port', () => {
    assert.equal(shadowAuthority('httpbin:8000'), 'httpbin-shadow:8000');
    assert.equal(shadowAuthority('httpbin'), 'httpbin-shadow');
    assert.equal(shadowAuthority('[fd00::1]:80'), '[fd00::1]-shadow:80');
  });
});

describe('mirror filter compile', () => {
  test('bad config names the field', () => {
    assert.throws(() => compileMirrors([{ cluster: '' }], 'routes[0].action.mirrors'), /routes\[0\]\.action\.mirrors\[0\]\.cluster/);
    assert.throws(() => compileMirrors([{ cluster: 'a', percent: -1 }], 'routes[0].action.mirrors'), /routes\[0\]\.action\.mirrors\[0\]\.percent/);
  });
});
