/**
 * Istio's "Enabling Rate Limits using Envoy" task, global rate limit, on the local mesh: the page's
 * ConfigMap, Istio's `samples/ratelimit/rate-limit-service.yaml` unchanged (the rate-limit service
 * and a real redis-server), and the page's EnvoyFilters at the ingress gateway: `/productpage`
 * twice gives 200 then 429; the advanced case (a VirtualService route named `api` and its own
 * rate_limits) gives 200, 200, 429 with `x-envoy-ratelimited: true` on /api/v1/products/1..3;
 * with the service stopped, `failure_mode_deny: true` answers 500 and `false` lets requests pass.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bookinfoMesh, istioBookinfo } from './bookinfo.js';
import { startMesh } from './harness.js';
import type { Mesh } from './harness.js';
import { istioSample } from '../helpers/shared.js';
import { tool } from '../helpers/tools.js';

const FIXTURES = join(process.cwd(), 'test', 'e2e', 'fixtures', 'ratelimit');
const redis = tool('redis-server');

describe("Global rate limit at the ingress gateway (Istio's samples)", { skip: istioBookinfo.skip || redis.skip, timeout: 240_000 }, () => {
  let mesh: Mesh | undefined;
  const started = (): Mesh => mesh ?? assert.fail('the mesh did not start');
  before(async () => {
    redis.require();
    if (istioBookinfo.skip === false) mesh = await startMesh(bookinfoMesh(istioBookinfo));
  });
  after(async () => {
    await mesh?.stop();
  });

  test('the ConfigMap, then rate-limit-service.yaml unchanged: the service and Redis run', async () => {
    assert.equal(await started().apply(join(FIXTURES, 'ratelimit-config.yaml')), 'configmap/ratelimit-config created\n');
    await started().apply(istioSample('ratelimit', 'rate-limit-service.yaml'));
    await started().waitReady();
  });

  test('the page\'s gateway EnvoyFilters: /productpage twice gives 200, then 429', async () => {
    await started().apply(join(FIXTURES, 'filter-ratelimit.yaml'));
    await started().apply(join(FIXTURES, 'filter-ratelimit-svc.yaml'));
    const codes = [(await started().get('/productpage')).status, (await started().get('/productpage')).status];
    assert.deepEqual(codes, [200, 429]);
  });

  test('the advanced case: /api/v1/products/1..3 gives 200, 200, 429 with x-envoy-ratelimited: true', async () => {
    await started().apply(join(FIXTURES, 'bookinfo-api-route.yaml'));
    await started().apply(join(FIXTURES, 'filter-ratelimit-svc-api.yaml'));
    const replies = [];
    for (const i of [1, 2, 3]) replies.push(await started().get(`/api/v1/products/${i}`));
    assert.deepEqual(replies.map((r) => r.status), [200, 200, 429]);
    assert.equal(replies[2].headers['x-envoy-ratelimited'], 'true');
  });

  test('the service stopped: failure_mode_deny true answers 500, false lets requests pass', async () => {
    const service = readFileSync(istioSample('ratelimit', 'rate-limit-service.yaml'), 'utf8');
    const ratelimitOnly = service.split(/^---$/m).filter((d) => /name: ratelimit\n/.test(d) && /kind: Deployment/.test(d)).join('\n---\n');
    await started().delete(ratelimitOnly);
    const closed = await started().get('/api/v1/products/4');
    assert.equal(closed.status, 500);
    await started().apply(readFileSync(join(FIXTURES, 'filter-ratelimit.yaml'), 'utf8').replace('failure_mode_deny: true', 'failure_mode_deny: false'));
    assert.equal((await started().get('/api/v1/products/5')).status, 200);
  });
});
