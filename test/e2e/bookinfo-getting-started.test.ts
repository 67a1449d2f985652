/**
 * Istio's "Getting Started" / "Bookinfo Application" pages on the local mesh: deploy Bookinfo and
 * its gateway, see the pods, reach productpage from inside the mesh and through the ingress
 * gateway, and watch the three reviews versions take turns. Run with Istio's own manifests
 * (through the image map) and with samples/bookinfo.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BOOKINFO_FILES, bookinfoMesh, viewProductPage } from './bookinfo.js';
import type { Seen } from './bookinfo.js';
import { runSkiff } from '../helpers/cli.js';
import { startMesh } from './harness.js';
import type { Mesh } from './harness.js';

const TITLE = '<title>Simple Bookstore App</title>';

for (const files of BOOKINFO_FILES) {
  describe(`Bookinfo getting started (${files.label})`, { skip: files.skip, timeout: 180_000 }, () => {
    let mesh: Mesh | undefined;
    const started = (): Mesh => mesh ?? assert.fail('the mesh did not start');
    before(async () => {
      if (files.skip === false) mesh = await startMesh(bookinfoMesh(files));
    });
    after(async () => {
      await mesh?.stop();
    });

    test('deploying prints what kubectl apply prints for Bookinfo and its gateway', () => {
      const out = started().upOutput;
      for (const line of [
        'service/details created',
        'serviceaccount/bookinfo-details created',
        'deployment.apps/details-v1 created',
        'deployment.apps/reviews-v3 created',
        'deployment.apps/productpage-v1 created',
        'gateway.networking.istio.io/bookinfo-gateway created',
        'virtualservice.networking.istio.io/bookinfo created',
      ]) {
        assert.match(out, new RegExp(`^${line.replaceAll('.', '\\.')}$`, 'm'));
      }
      assert.equal(out.split('\n').filter((l) => / created$/.test(l)).length, 16, `14 Bookinfo resources and 2 of the gateway:\n${out}`);
    });

    test('analyzing the files finds no issue', async () => {
      const res = await runSkiff(['analyze', ...bookinfoMesh(files).files.flatMap((f) => ['-f', f])]);
      assert.equal(res.code, 0, res.stderr);
      assert.equal(res.stdout, '✔ No validation issues found when analyzing namespace: default.\n');
    });

    test('the services and six pods, each 2/2 Running', async () => {
      const services = await started().skiff(['get', 'services']);
      assert.equal(services.code, 0, services.stderr);
      for (const name of ['details', 'productpage', 'ratings', 'reviews']) assert.match(services.stdout, new RegExp(`^${name}\\s.*9080`, 'm'));
      const pods = await started().skiff(['get', 'pods']);
      assert.equal(pods.code, 0, pods.stderr);
      const rows = pods.stdout.split('\n').filter((l) => /^(details|productpage|ratings|reviews)-/.test(l));
      assert.deepEqual(
        rows.map((r) => r.split(/\s+/)[0].replace(/-[^-]+-[^-]+$/, '')).sort(),
        ['details-v1', 'productpage-v1', 'ratings-v1', 'reviews-v1', 'reviews-v2', 'reviews-v3'],
        pods.stdout,
      );
      for (const row of rows) assert.match(row, /^\S+\s+2\/2\s+Running\s/, row);
    });

    test('from inside the mesh, curl productpage:9080/productpage in the ratings pod shows the page title', async () => {
      const res = await started().exec('deploy/ratings-v1', 'default', ['curl', '-sS', 'productpage:9080/productpage']);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, new RegExp(TITLE));
    });

    test('through the ingress gateway /productpage shows the page; paths the gateway does not route get 404', async () => {
      const page = await started().get('/productpage');
      assert.equal(page.status, 200);
      assert.ok(page.body.includes(TITLE), page.body.slice(0, 300));
      assert.ok(page.body.includes('William Shakespeare'));
      assert.ok(page.body.includes('Book Details') && page.body.includes('Book Reviews') && page.body.includes('Reviews served by:'));
      for (const path of ['/', '/health', '/index.html']) assert.equal((await started().get(path)).status, 404, path);
      assert.equal((await started().get('/static/bookinfo.css')).status, 200, 'the /static prefix is routed to productpage');
    });

    test('refreshing /productpage shows all three reviews versions: no stars, black stars, red stars', async () => {
      const seen = new Map<Seen, number>();
      for (let i = 0; i < 60 && seen.size < 3; i++) {
        const s = await viewProductPage(started());
        seen.set(s, (seen.get(s) ?? 0) + 1);
      }
      assert.deepEqual([...seen.keys()].sort(), ['v1', 'v2', 'v3'], JSON.stringify([...seen]));
    });

    test('with destination-rule-all.yaml applied, the three versions still take turns', async () => {
      const out = await started().apply(files.networking('destination-rule-all.yaml'));
      assert.match(out, /^destinationrule\.networking\.istio\.io\/reviews created$/m);
      const seen = new Set<Seen>();
      for (let i = 0; i < 60 && seen.size < 3; i++) seen.add(await viewProductPage(started()));
      assert.deepEqual([...seen].sort(), ['v1', 'v2', 'v3']);
    });
  });
}
