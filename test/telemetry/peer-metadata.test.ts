/**
 * Workload identities and the peer-metadata header: Istio's canonical service/revision rules,
 * an encode/decode round trip, hostile header values ignored, and label values escaped.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PeerMetadataCache, UNKNOWN_PEER, decodePeerMetadata, encodePeerMetadata, identityFromLabels, identityOfWorkload } from '../../src/telemetry/identity.js';
import { escapeLabelValue, identityLabels } from '../../src/telemetry/metrics/labels.js';
import { parsePrometheus } from './helpers.js';

describe('workload identity', () => {
  test('canonical service and revision follow Istio: explicit labels, then app/version, then workload/latest', () => {
    const explicit = identityFromLabels('reviews-v2', 'default', { app: 'reviews', version: 'v2', 'service.istio.io/canonical-name': 'reviews-svc', 'service.istio.io/canonical-revision': 'r2' }, 'Kubernetes');
    assert.equal(explicit.canonicalService, 'reviews-svc');
    assert.equal(explicit.canonicalRevision, 'r2');
    const fromApp = identityFromLabels('reviews-v2', 'default', { app: 'reviews', version: 'v2' }, 'Kubernetes');
    assert.deepEqual([fromApp.canonicalService, fromApp.canonicalRevision, fromApp.app, fromApp.version], ['reviews', 'v2', 'reviews', 'v2']);
    const bare = identityFromLabels('legacy', 'ops', {}, 'Kubernetes');
    assert.deepEqual([bare.canonicalService, bare.canonicalRevision, bare.app, bare.version], ['legacy', 'latest', 'unknown', 'unknown']);
    assert.equal(identityOfWorkload(undefined), UNKNOWN_PEER);
  });
});

describe('peer metadata header', () => {
  test('round trip through base64 JSON with Istio keys', () => {
    const id = identityOfWorkload({ name: 'productpage-v1', namespace: 'default', labels: { app: 'productpage', version: 'v1', team: 'web' }, serviceAccount: 'bookinfo-productpage' });
    const value = encodePeerMetadata(id);
    const payload = JSON.parse(Buffer.from(value, 'base64').toString()) as Record<string, unknown>;
    assert.equal(payload.WORKLOAD_NAME, 'productpage-v1');
    assert.equal(payload.NAMESPACE, 'default');
    assert.equal(payload.CLUSTER_ID, 'Kubernetes');
    assert.equal(payload.SERVICE_ACCOUNT, 'bookinfo-productpage');
    assert.deepEqual(decodePeerMetadata(value), id);
  });

  test('values that are not metadata decode to null, never throw', () => {
    for (const v of ['', 'not base64 at all!!', Buffer.from('[1,2]').toString('base64'), Buffer.from('"x"').toString('base64'), Buffer.from('{}').toString('base64'), Buffer.from('{"LABELS":7}').toString('base64')]) {
      assert.equal(decodePeerMetadata(v), null, v);
    }
    const odd = decodePeerMetadata(Buffer.from(JSON.stringify({ WORKLOAD_NAME: 'w', LABELS: { app: 5, version: 'v9' } })).toString('base64'));
    assert.equal(odd?.app, 'unknown');
    assert.equal(odd?.version, 'v9');
    assert.equal(odd?.namespace, 'unknown');
  });
});

describe('peer metadata cache', () => {
  test('each of many peers, looked up in turn and in copies of its header text, gets its own identity', () => {
    const cache = new PeerMetadataCache(512, 4);
    // More peers than the recent list holds, so lookups go through the list and the map alike.
    const ids = Array.from({ length: 7 }, (_, i) => identityOfWorkload({ name: `svc${i}-v1`, namespace: 'default', labels: { app: `svc${i}`, version: 'v1' }, serviceAccount: `svc${i}` }));
    const values = ids.map(encodePeerMetadata);
    for (let round = 0; round < 3; round++) {
      for (const i of [0, 1, 0, 2, 3, 4, 5, 6, 6, 1, 3]) {
        // A fresh string per request, as the parser makes one.
        const copy = Buffer.from(values[i], 'latin1').toString('latin1');
        assert.deepEqual(cache.get(copy), ids[i], `peer ${i}, round ${round}`);
      }
    }
    assert.equal(cache.get('junk'), null);
    assert.equal(cache.get('junk'), null);
    assert.deepEqual(cache.get(values[2]), ids[2]);
  });

  test('a flood of distinct values is bounded and every value still decodes right', () => {
    const cache = new PeerMetadataCache(8, 2);
    for (let i = 0; i < 50; i++) {
      const id = identityOfWorkload({ name: `w${i}`, namespace: `ns${i % 3}`, labels: {}, serviceAccount: '' });
      assert.deepEqual(cache.get(encodePeerMetadata(id)), id);
    }
  });
});

describe('label text', () => {
  test('quotes, backslashes and newlines are escaped so the exposition stays parseable', () => {
    assert.equal(escapeLabelValue('plain'), 'plain');
    assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
    const id = identityFromLabels('we"ird\\name', 'ns\nx', { app: 'a' }, 'Kubernetes');
    const samples = parsePrometheus(`m{${identityLabels('source', id, 'unknown')}} 1\n`);
    assert.equal(samples[0].labels.source_workload, 'we"ird\\name');
    assert.equal(samples[0].labels.source_workload_namespace, 'ns\nx');
  });
});
