/**
 * Istio's "Enabling Rate Limits using Envoy" task, local rate limit, on the local mesh with the
 * page's EnvoyFilters: five requests from the ratings pod to productpage:9080/productpage give
 * 200 four times, then 429 `local_rate_limited` with `x-local-rate-limit: true` — with the filter's
 * bucket on the listener, then with the page's route-level variant.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BOOKINFO_FILES, bookinfoMesh } from './bookinfo.js';
import { startMesh } from './harness.js';
import type { Mesh } from './harness.js';

const FIXTURES = join(process.cwd(), 'test', 'e2e', 'fixtures', 'ratelimit');

/** The page's check: `curl -s productpage:9080/productpage -o /dev/null -w "%{http_code}\n"`, five times, from ratings. */
async function fiveFromRatings(mesh: Mesh): Promise<string[]> {
  const codes: string[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await mesh.exec('deploy/ratings-v1', 'default', ['curl', '-s', 'productpage:9080/productpage', '-o', '/dev/null', '-w', '%{http_code}\n']);
    codes.push(r.stdout.trim());
  }
  return codes;
}

for (const files of BOOKINFO_FILES) {
  describe(`Local rate limit on productpage (${files.label})`, { skip: files.skip, timeout: 180_000 }, () => {
    let mesh: Mesh | undefined;
    const started = (): Mesh => mesh ?? assert.fail('the mesh did not start');
    before(async () => {
      if (files.skip === false) mesh = await startMesh(bookinfoMesh(files));
    });
    after(async () => {
      await mesh?.stop();
    });

    test('the listener-level filter: 200 ×4, then 429 local_rate_limited with x-local-rate-limit: true', async () => {
      const out = await started().apply(join(FIXTURES, 'local-ratelimit-listener.yaml'));
      assert.equal(out, 'envoyfilter.networking.istio.io/filter-local-ratelimit-svc created\n');
      assert.deepEqual(await fiveFromRatings(started()), ['200', '200', '200', '200', '429']);
      const limited = await started().exec('deploy/ratings-v1', 'default', ['curl', '-s', '-i', 'productpage:9080/productpage']);
      assert.match(limited.stdout, /^HTTP\/1\.1 429 Too Many Requests\r?$/m);
      assert.match(limited.stdout, /^x-local-rate-limit: true\r?$/im);
      assert.match(limited.stdout, /^x-envoy-ratelimited: true\r?$/im);
      assert.ok(limited.stdout.endsWith('local_rate_limited'), limited.stdout);
    });

    test('other workloads are not limited (the filter selects app: productpage)', async () => {
      for (let i = 0; i < 6; i++) {
        const r = await started().exec('deploy/productpage-v1', 'default', ['curl', '-s', 'ratings:9080/ratings/0', '-o', '/dev/null', '-w', '%{http_code}']);
        assert.equal(r.stdout, '200');
      }
    });

    test('the route-level variant (typed_per_filter_config on inbound|http|9080): 200 ×4, then 429', async () => {
      const out = await started().apply(join(FIXTURES, 'local-ratelimit-route.yaml'));
      assert.equal(out, 'envoyfilter.networking.istio.io/filter-local-ratelimit-svc configured\n');
      assert.deepEqual(await fiveFromRatings(started()), ['200', '200', '200', '200', '429']);
      // skiff proxy-config shows the filters in force: the listener's filter without a bucket, the route's own.
      const shown = await started().skiff(['proxy-config', 'ratelimit', 'deploy/productpage-v1']);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, /^inbound\S*\s+envoy\.filters\.http\.local_ratelimit\s+http_local_rate_limiter\s+no bucket \(routes carry theirs\)$/m);
      assert.match(shown.stdout, /^inbound\|9080\|\|\s+inbound\|http\|9080\s+\S+\s+4 max, 4 per 60s; enabled 100%, enforced 100%\s+-$/m);
      const ratings = await started().skiff(['proxy-config', 'ratelimit', 'deploy/ratings-v1']);
      assert.equal(ratings.stdout, 'No rate-limit filters (no EnvoyFilter rate-limit patch applies to this proxy).\n');
    });

    test('cleanup: without the EnvoyFilter, productpage answers again', async () => {
      await started().delete(join(FIXTURES, 'local-ratelimit-route.yaml'));
      const r = await started().exec('deploy/ratings-v1', 'default', ['curl', '-s', 'productpage:9080/productpage', '-o', '/dev/null', '-w', '%{http_code}']);
      assert.equal(r.stdout, '200');
    });
  });
}
