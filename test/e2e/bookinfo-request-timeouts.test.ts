/**
 * Istio's "Request Timeouts" task on the local mesh, with the page's inline VirtualServices:
 * reviews v2 with a 2 s delay on ratings still shows black stars (slowly); a 0.5 s timeout on
 * the reviews route then makes the page say the reviews are unavailable.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BOOKINFO_FILES, REVIEWS_UNAVAILABLE, bookinfoMesh, viewProductPage } from './bookinfo.js';
import { startMesh } from './harness.js';
import type { Mesh } from './harness.js';

const REVIEWS_V2 = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts:
    - reviews
  http:
  - route:
    - destination:
        host: reviews
        subset: v2
`;

const RATINGS_DELAY_2S = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ratings
spec:
  hosts:
  - ratings
  http:
  - fault:
      delay:
        percentage:
          value: 100
        fixedDelay: 2s
    route:
    - destination:
        host: ratings
        subset: v1
`;

const REVIEWS_V2_TIMEOUT = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts:
  - reviews
  http:
  - route:
    - destination:
        host: reviews
        subset: v2
    timeout: 0.5s
`;

for (const files of BOOKINFO_FILES) {
  describe(`Bookinfo request timeouts (${files.label})`, { skip: files.skip, timeout: 180_000 }, () => {
    let mesh: Mesh | undefined;
    const started = (): Mesh => mesh ?? assert.fail('the mesh did not start');
    before(async () => {
      if (files.skip === false) mesh = await startMesh(bookinfoMesh(files, ['destination-rule-all.yaml', 'virtual-service-all-v1.yaml']));
    });
    after(async () => {
      await mesh?.stop();
    });

    test('reviews → v2: black stars', async () => {
      const out = await started().apply(REVIEWS_V2);
      assert.equal(out, 'virtualservice.networking.istio.io/reviews configured\n');
      assert.equal(await viewProductPage(started()), 'v2');
    });

    test('a 2 s delay on ratings: the page still shows black stars', async (t) => {
      const out = await started().apply(RATINGS_DELAY_2S);
      assert.equal(out, 'virtualservice.networking.istio.io/ratings configured\n');
      const begun = Date.now();
      assert.equal(await viewProductPage(started()), 'v2');
      // The page's claim is "about 2 seconds"; how long it takes is measured by the benchmarks.
      t.diagnostic(`the page came back after ${((Date.now() - begun) / 1000).toFixed(1)} s`);
    });

    test('timeout: 0.5s on the reviews route: "Sorry, product reviews are currently unavailable for this book."', async (t) => {
      const out = await started().apply(REVIEWS_V2_TIMEOUT);
      assert.equal(out, 'virtualservice.networking.istio.io/reviews configured\n');
      const begun = Date.now();
      const page = await started().get('/productpage');
      t.diagnostic(`the page came back after ${((Date.now() - begun) / 1000).toFixed(1)} s (the page says about 1 s)`);
      assert.equal(page.status, 200);
      assert.ok(page.body.includes('Error fetching product reviews'), page.body);
      assert.ok(page.body.includes(REVIEWS_UNAVAILABLE), page.body);
      // What the reviews call got: the route timeout's 504 (productpage passes the last status on).
      const api = await started().get('/api/v1/products/0/reviews');
      assert.equal(api.status, 504);
      assert.deepEqual(JSON.parse(api.body), { error: REVIEWS_UNAVAILABLE });
    });

    test('cleanup (delete virtual-service-all-v1.yaml, which also removes the inline rules): the three versions take turns again', async () => {
      await started().delete(files.networking('virtual-service-all-v1.yaml'));
      const seen = new Set<string>();
      for (let i = 0; i < 60 && seen.size < 3; i++) seen.add(await viewProductPage(started()));
      assert.deepEqual([...seen].sort(), ['v1', 'v2', 'v3']);
    });
  });
}
