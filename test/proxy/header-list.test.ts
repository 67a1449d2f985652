/**
 * The header list the codecs produce and the request flow edits: removing and replacing fields
 * keeps the other fields, their raw names, lowercase names and values together and in order.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HeaderList } from '../../src/proxy/http/headers.js';

const list = (): HeaderList =>
  HeaderList.from([
    ['Host', 'a'],
    ['X-Envoy-Peer-Metadata', 'm1'],
    ['Accept', '*/*'],
    ['x-envoy-peer-metadata', 'm2'],
    ['Via', 'v'],
    ['X-ENVOY-PEER-METADATA', 'm3'],
  ]);

const rows = (h: HeaderList): string[] => h.names.map((n, i) => `${n}|${h.lower[i]}|${h.values[i]}`);

describe('HeaderList edits', () => {
  test('remove takes every field of the name, however it was spelled, and keeps the rest in order', () => {
    const h = list();
    h.remove('x-envoy-peer-metadata');
    assert.deepEqual(rows(h), ['Host|host|a', 'Accept|accept|*/*', 'Via|via|v']);
    h.remove('absent');
    assert.equal(h.length, 3);
    h.remove('via');
    h.remove('host');
    assert.deepEqual(rows(h), ['Accept|accept|*/*']);
  });

  test('set replaces the first field and drops the later ones; an absent name is appended', () => {
    const h = list();
    h.set('x-envoy-peer-metadata', 'new');
    assert.deepEqual(rows(h), ['Host|host|a', 'X-Envoy-Peer-Metadata|x-envoy-peer-metadata|new', 'Accept|accept|*/*', 'Via|via|v']);
    h.set('x-request-id', 'r');
    assert.deepEqual(rows(h).at(-1), 'x-request-id|x-request-id|r');
  });

  test('removeAt takes one field by position: first, middle, last; a position outside the list changes nothing', () => {
    const h = list();
    h.removeAt(0);
    h.removeAt(1);
    h.removeAt(h.length - 1);
    assert.deepEqual(rows(h), ['X-Envoy-Peer-Metadata|x-envoy-peer-metadata|m1', 'x-envoy-peer-metadata|x-envoy-peer-metadata|m2', 'Via|via|v']);
    h.removeAt(3);
    h.removeAt(-1);
    assert.equal(h.length, 3);
  });
});
