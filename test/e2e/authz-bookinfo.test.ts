/**
 * Istio's "Authorization for HTTP traffic" task on Bookinfo through the ingress gateway, step by
 * step on the page's YAML, once with Istio's own sample manifests and once with samples/bookinfo.
 * As the page's own check does, reviews is pinned to v3 (`destination-rule-all.yaml` and
 * `virtual-service-reviews-v3.yaml`) so that every page calls ratings.
 *
 * `allow-nothing` denies the product page (403 `RBAC: access denied`); `productpage-viewer` lets it
 * show with "Error fetching product details" and "Error fetching product reviews", productpage's
 * own calls being denied by the namespace's policy; `details-viewer` and `reviews-viewer` admit
 * productpage's principal, `cluster.local/ns/default/sa/bookinfo-productpage`, which reaches the
 * details and reviews sidecars through automatic mutual TLS (the service account of its
 * Deployment, its certificate signed for it), so the page shows the book's details and reviews
 * with "Ratings service is currently unavailable"; `ratings-viewer` admits reviews' principal and
 * the red stars come back.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BOOKINFO_FILES, RATINGS_UNAVAILABLE, bookinfoMesh, seenOnPage } from './bookinfo.js';
import { eventually, startMesh } from './harness.js';
import type { Mesh, Response } from './harness.js';

const ALLOW_NOTHING = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: allow-nothing
  namespace: default
spec:
  {}
`;

const PRODUCTPAGE_VIEWER = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: "productpage-viewer"
  namespace: default
spec:
  selector:
    matchLabels:
      app: productpage
  action: ALLOW
  rules:
  - to:
    - operation:
        methods: ["GET"]
`;

const DETAILS_VIEWER = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: "details-viewer"
  namespace: default
spec:
  selector:
    matchLabels:
      app: details
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/default/sa/bookinfo-productpage"]
    to:
    - operation:
        methods: ["GET"]
`;

const REVIEWS_VIEWER = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: "reviews-viewer"
  namespace: default
spec:
  selector:
    matchLabels:
      app: reviews
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/default/sa/bookinfo-productpage"]
    to:
    - operation:
        methods: ["GET"]
`;

const RATINGS_VIEWER = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: "ratings-viewer"
  namespace: default
spec:
  selector:
    matchLabels:
      app: ratings
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/default/sa/bookinfo-reviews"]
    to:
    - operation:
        methods: ["GET"]
`;

const DETAILS_ERROR = 'Error fetching product details';
const REVIEWS_ERROR = 'Error fetching product reviews';
/** The details table productpage renders from details' answer (ISBN-10 and publisher of the book). */
const BOOK_DETAILS = /Book Details<\/h4>[^]*<td>1234567890<\/td><td>PublisherA<\/td>/;
const BOOK_REVIEWS = />Book Reviews</;

for (const files of BOOKINFO_FILES) {
  describe(`authorization for HTTP traffic on Bookinfo (${files.label})`, { skip: files.skip }, () => {
    let mesh: Mesh;

    before(async () => {
      mesh = await startMesh(bookinfoMesh(files, ['destination-rule-all.yaml', 'virtual-service-reviews-v3.yaml']));
      assert.equal(seenOnPage(await mesh.get('/productpage')), 'v3');
    });

    after(async () => {
      await mesh?.stop();
    });

    test('allow-nothing: the product page is 403 RBAC: access denied, naming no rule', async () => {
      await mesh.apply(ALLOW_NOTHING);
      const r = await mesh.get('/productpage');
      assert.equal(r.status, 403);
      assert.equal(r.body, 'RBAC: access denied');
      const explain = await mesh.skiff(['authz', 'explain', 'deploy/productpage-v1', '--path', '/productpage']);
      assert.match(explain.stdout, /^DENY: denied: ALLOW policies apply and none matches \(rbac_access_denied_matched_policy\[none\]\)/);
    });

    test('productpage-viewer: the page shows, with details and reviews denied to productpage', async () => {
      await mesh.apply(PRODUCTPAGE_VIEWER);
      const r = await mesh.get('/productpage');
      assert.equal(r.status, 200);
      assert.match(r.body, /William Shakespeare/);
      assert.ok(r.body.includes(DETAILS_ERROR), 'details are denied to productpage');
      assert.ok(r.body.includes(REVIEWS_ERROR), 'reviews are denied to productpage');
      // POST is not GET: the page's sign-in is denied by productpage-viewer.
      const login = await mesh.post('/login', { username: 'jason', passwd: '' });
      assert.equal(login.status, 403);
      assert.equal(login.body, 'RBAC: access denied');
    });

    test("details-viewer: productpage's principal reaches details, which fills in the book's details", async () => {
      await mesh.apply(DETAILS_VIEWER);
      const r = await mesh.get('/productpage');
      assert.equal(r.status, 200);
      assert.match(r.body, BOOK_DETAILS);
      assert.ok(!r.body.includes(DETAILS_ERROR), 'details are shown');
      assert.ok(r.body.includes(REVIEWS_ERROR), 'reviews are still denied');
      // The decision as the details proxy makes it, for productpage's principal and for another.
      const allowed = await mesh.skiff(['authz', 'explain', 'deploy/details-v1', '--path', '/details/0', '--from', 'default/bookinfo-productpage']);
      assert.match(allowed.stdout, /^ALLOW: allowed by ns\[default\]-policy\[details-viewer\]-rule\[0\]/);
      const denied = await mesh.skiff(['authz', 'explain', 'deploy/details-v1', '--path', '/details/0', '--from', 'default/bookinfo-reviews']);
      assert.match(denied.stdout, /^DENY: .*rbac_access_denied_matched_policy\[none\]/);
    });

    test('reviews-viewer: the reviews come back with "Ratings service is currently unavailable"', async () => {
      await mesh.apply(REVIEWS_VIEWER);
      const r = await mesh.get('/productpage');
      assert.equal(r.status, 200);
      assert.match(r.body, /William Shakespeare/);
      assert.match(r.body, BOOK_DETAILS);
      assert.match(r.body, BOOK_REVIEWS);
      assert.ok(!r.body.includes(REVIEWS_ERROR), 'reviews are shown');
      assert.ok(r.body.includes(RATINGS_UNAVAILABLE), 'ratings are denied to reviews');
      assert.equal(seenOnPage(r), 'ratings-unavailable');
    });

    test("ratings-viewer: reviews' principal reaches ratings, and the stars are back", async () => {
      await mesh.apply(RATINGS_VIEWER);
      let last: Response | undefined;
      await eventually(async () => {
        last = await mesh.get('/productpage');
        return seenOnPage(last) === 'v3';
      }, 'the red stars of reviews v3');
      assert.ok(last !== undefined && !last.body.includes(RATINGS_UNAVAILABLE));
      assert.match(last.body, BOOK_DETAILS);
      // Ratings' proxy denies what does not come from reviews: productpage's principal, say.
      const denied = await mesh.skiff(['authz', 'explain', 'deploy/ratings-v1', '--path', '/ratings/0', '--from', 'default/bookinfo-productpage']);
      assert.match(denied.stdout, /^DENY: /);
    });
  });
}
