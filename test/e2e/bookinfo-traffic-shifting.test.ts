/**
 * Istio's "Traffic Shifting" task on the local mesh: all traffic to reviews v1, then half of it
 * to v3 (red stars), then all of it to v3. Counts of red-star pages are checked against what a
 * fair 50/50 split gives with 99.9 % confidence.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BOOKINFO_FILES, bookinfoMesh, viewProductPage } from './bookinfo.js';
import { binomialBounds, countOutcomes, startMesh } from './harness.js';
import type { Mesh } from './harness.js';

/** Page views per step (the docs' CI counts 100 `curl`s). */
const VIEWS = 100;

for (const files of BOOKINFO_FILES) {
  describe(`Bookinfo traffic shifting (${files.label})`, { skip: files.skip, timeout: 180_000 }, () => {
    let mesh: Mesh | undefined;
    const started = (): Mesh => mesh ?? assert.fail('the mesh did not start');
    const views = async (): Promise<Record<string, number>> => Object.fromEntries(await countOutcomes(VIEWS, () => viewProductPage(started())));
    before(async () => {
      if (files.skip === false) mesh = await startMesh(bookinfoMesh(files, ['destination-rule-all.yaml']));
    });
    after(async () => {
      await mesh?.stop();
    });

    test('virtual-service-all-v1.yaml: every page without stars', async () => {
      await started().apply(files.networking('virtual-service-all-v1.yaml'));
      assert.deepEqual(await views(), { v1: VIEWS });
    });

    test('virtual-service-reviews-50-v3.yaml: about half the pages with red stars, the rest without', async (t) => {
      const out = await started().apply(files.networking('virtual-service-reviews-50-v3.yaml'));
      assert.equal(out, 'virtualservice.networking.istio.io/reviews configured\n');
      const seen = await views();
      t.diagnostic(`${VIEWS} views: ${JSON.stringify(seen)}`);
      assert.deepEqual(Object.keys(seen).sort(), ['v1', 'v3'], JSON.stringify(seen));
      const { low, high } = binomialBounds(VIEWS, 0.5);
      const red = seen.v3 ?? 0;
      assert.ok(red >= low && red <= high, `${red} of ${VIEWS} pages with red stars, expected ${low}..${high}`);
    });

    test('virtual-service-reviews-v3.yaml: every page with red stars', async () => {
      const out = await started().apply(files.networking('virtual-service-reviews-v3.yaml'));
      assert.equal(out, 'virtualservice.networking.istio.io/reviews configured\n');
      assert.deepEqual(await views(), { v3: VIEWS });
    });

    test('cleanup (delete virtual-service-all-v1.yaml): the three versions take turns again', async () => {
      await started().delete(files.networking('virtual-service-all-v1.yaml'));
      const seen = new Set<string>();
      for (let i = 0; i < 60 && seen.size < 3; i++) seen.add(await viewProductPage(started()));
      assert.deepEqual([...seen].sort(), ['v1', 'v2', 'v3']);
    });
  });
}
