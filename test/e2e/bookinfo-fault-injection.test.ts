/**
 * Istio's "Fault Injection" task on the local mesh. Starting from all-v1 plus jason → reviews v2,
 * a 7 s delay on ratings for jason makes productpage give up on reviews (3 s timeout, tried
 * twice: the page says the reviews are unavailable after about 6 s), and an HTTP 500 abort makes
 * reviews v2 show that ratings are unavailable. Other users see v1 throughout.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BOOKINFO_FILES, REVIEWS_UNAVAILABLE, bookinfoMesh, viewProductPage } from './bookinfo.js';
import { startMesh } from './harness.js';
import type { Mesh } from './harness.js';

for (const files of BOOKINFO_FILES) {
  describe(`Bookinfo fault injection (${files.label})`, { skip: files.skip, timeout: 180_000 }, () => {
    let mesh: Mesh | undefined;
    let jason = '';
    const started = (): Mesh => mesh ?? assert.fail('the mesh did not start');
    before(async () => {
      if (files.skip !== false) return;
      mesh = await startMesh(
        bookinfoMesh(files, ['destination-rule-all.yaml', 'virtual-service-all-v1.yaml', 'virtual-service-reviews-test-v2.yaml']),
      );
      jason = await mesh.login('jason');
    });
    after(async () => {
      await mesh?.stop();
    });

    test('before any fault: jason sees black stars (v2), others v1', async () => {
      assert.equal(await viewProductPage(started(), jason), 'v2');
      assert.equal(await viewProductPage(started()), 'v1');
    });

    test('virtual-service-ratings-test-delay.yaml: jason gets "Error fetching product reviews" and the reviews-unavailable text', async (t) => {
      const out = await started().apply(files.networking('virtual-service-ratings-test-delay.yaml'));
      assert.equal(out, 'virtualservice.networking.istio.io/ratings configured\n');
      const begun = Date.now();
      const page = await started().get('/productpage', { cookie: jason });
      // The page's claim is "about 6 seconds"; how long it takes is measured by the benchmarks, not here.
      t.diagnostic(`the page came back after ${((Date.now() - begun) / 1000).toFixed(1)} s`);
      assert.equal(page.status, 200);
      assert.ok(page.body.includes('Error fetching product reviews'), page.body);
      assert.ok(page.body.includes(REVIEWS_UNAVAILABLE), page.body);
      assert.ok(page.body.includes('Book Details'), 'the details are still shown');
      assert.equal(await viewProductPage(started()), 'v1', 'other users see no delay and no error');
    });

    test('virtual-service-ratings-test-abort.yaml: jason sees "Ratings service is currently unavailable" twice; others do not', async () => {
      const out = await started().apply(files.networking('virtual-service-ratings-test-abort.yaml'));
      assert.equal(out, 'virtualservice.networking.istio.io/ratings configured\n');
      const page = await started().get('/productpage', { cookie: jason });
      assert.equal(page.status, 200);
      assert.equal(page.body.split('Ratings service is currently unavailable').length - 1, 2, page.body);
      assert.match(page.body, /Reviews served by: reviews-v2-/);
      const anonymous = await started().get('/productpage');
      assert.ok(!anonymous.body.includes('Ratings service is currently unavailable'));
      assert.equal(await viewProductPage(started()), 'v1');
    });

    test('fault-injection-details-v1.yaml: details answer 555; the page says details are unavailable', async () => {
      await started().apply(files.networking('fault-injection-details-v1.yaml'));
      const api = await started().get('/api/v1/products/0');
      assert.equal(api.status, 555);
      assert.deepEqual(JSON.parse(api.body), { error: 'Sorry, product details are currently unavailable for this book.' });
      const page = await started().get('/productpage');
      assert.ok(page.body.includes('Error fetching product details'));
      assert.ok(page.body.includes('Sorry, product details are currently unavailable for this book.'));
      // The sample replaces the `details` VirtualService and DestinationRule: put the task's back.
      await started().apply(files.networking('destination-rule-all.yaml'));
      await started().apply(files.networking('virtual-service-all-v1.yaml'));
      assert.equal((await started().get('/api/v1/products/0')).status, 200);
    });

    test('cleanup (delete virtual-service-all-v1.yaml): jason sees reviews with stars again', async () => {
      await started().delete(files.networking('virtual-service-all-v1.yaml'));
      // Without a rule for ratings, jason's reviews come from any version, none with a ratings error.
      for (let i = 0; i < 6; i++) assert.match(await viewProductPage(started(), jason), /^v[123]$/);
    });
  });
}
