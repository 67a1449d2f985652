/**
 * The workload names the standard metrics carry, as Istio derives them from a pod's owner: a
 * Deployment's pod reports the Deployment, any other pod itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { identityOfWorkload, workloadNameOf } from '../../../src/telemetry/identity.js';

test("a Deployment's pod is counted under the Deployment's name; a bare pod under its own", () => {
  assert.equal(workloadNameOf('reviews-v2-7978fc7575-t6hr2', { app: 'reviews', 'pod-template-hash': '7978fc7575' }), 'reviews-v2');
  assert.equal(workloadNameOf('curl', { app: 'curl' }), 'curl');
  // A hash that is not the pod's own template hash changes nothing.
  assert.equal(workloadNameOf('web-abc-x1', { 'pod-template-hash': 'zzz' }), 'web-abc-x1');
  const id = identityOfWorkload({ name: 'ratings-v1-7696fdb8f6-lfvz7', namespace: 'default', labels: { app: 'ratings', version: 'v1', 'pod-template-hash': '7696fdb8f6' }, serviceAccount: 'bookinfo-ratings' });
  assert.equal(id.workload, 'ratings-v1');
  assert.equal(id.canonicalService, 'ratings');
});
