/**
 * Istio's "Request Routing" task on the local mesh: route everything to v1, then send the user
 * jason (signed in on productpage, which passes `end-user: jason` on) to reviews v2.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BOOKINFO_FILES, bookinfoMesh, viewProductPage } from './bookinfo.js';
import type { Seen } from './bookinfo.js';
import { countOutcomes, startMesh } from './harness.js';
import type { Mesh } from './harness.js';

/** Enough page views that another version would show up: each of three versions was 1/3 before. */
const VIEWS = 20;

async function views(mesh: Mesh, cookie?: string): Promise<Record<string, number>> {
  return Object.fromEntries(await countOutcomes(VIEWS, () => viewProductPage(mesh, cookie)));
}

for (const files of BOOKINFO_FILES) {
  describe(`Bookinfo request routing (${files.label})`, { skip: files.skip, timeout: 180_000 }, () => {
    let mesh: Mesh | undefined;
    const started = (): Mesh => mesh ?? assert.fail('the mesh did not start');
    before(async () => {
      if (files.skip === false) mesh = await startMesh(bookinfoMesh(files));
    });
    after(async () => {
      await mesh?.stop();
    });

    test('virtual-service-all-v1.yaml before destination-rule-all.yaml: the subsets do not exist, details and reviews fail', async () => {
      const out = await started().apply(files.networking('virtual-service-all-v1.yaml'));
      assert.equal(
        out,
        ['productpage', 'reviews', 'ratings', 'details'].map((n) => `virtualservice.networking.istio.io/${n} created\n`).join(''),
      );
      const page = await started().get('/productpage');
      assert.equal(page.status, 200);
      assert.ok(page.body.includes('Sorry, product details are currently unavailable for this book.'), page.body);
      assert.ok(page.body.includes('Sorry, product reviews are currently unavailable for this book.'), page.body);
      assert.equal((await started().get('/api/v1/products/0')).status, 503);
    });

    test('with destination-rule-all.yaml: no stars, however often the page is refreshed', async () => {
      await started().apply(files.networking('destination-rule-all.yaml'));
      assert.deepEqual(await views(started()), { v1: VIEWS });
    });

    test('virtual-service-reviews-test-v2.yaml: jason sees black stars (v2), everyone else v1', async () => {
      const out = await started().apply(files.networking('virtual-service-reviews-test-v2.yaml'));
      assert.equal(out, 'virtualservice.networking.istio.io/reviews configured\n');
      const jason = await started().login('jason');
      const page = (await started().get('/productpage', { cookie: jason })).body;
      assert.match(page, />jason<.*Sign out/s, 'the page names the signed-in user');
      assert.deepEqual(await views(started(), jason), { v2: VIEWS }, 'signed in as jason');
      assert.deepEqual(await views(started()), { v1: VIEWS }, 'not signed in');
      // The match is exact and case-sensitive.
      const other = await started().login('Jason');
      assert.deepEqual(await views(started(), other), { v1: VIEWS }, 'signed in as Jason');
    });

    test('signing out of the page returns jason to v1', async () => {
      const jason = await started().login('jason');
      const out = await started().get('/logout', { cookie: jason, headers: { referer: `${started().ingressUrl}/productpage` } });
      assert.equal(out.status, 302);
      const cleared = (out.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).find((c) => c.startsWith('session='));
      assert.equal(cleared, 'session=');
      assert.equal(await viewProductPage(started(), cleared), 'v1');
    });

    test('cleanup (delete virtual-service-all-v1.yaml): the three versions take turns again', async () => {
      const out = await started().delete(files.networking('virtual-service-all-v1.yaml'));
      assert.match(out, /^virtualservice\.networking\.istio\.io\/reviews deleted$/m);
      const seen = new Set<Seen>();
      for (let i = 0; i < 60 && seen.size < 3; i++) seen.add(await viewProductPage(started()));
      assert.deepEqual([...seen].sort(), ['v1', 'v2', 'v3']);
    });
  });
}
