/**
 * Istio's "Authorization for HTTP traffic" task on Bookinfo through the ingress gateway, on the
 * page's YAML: `allow-nothing` denies the product page (403 `RBAC: access denied`), and
 * `productpage-viewer` lets it show with "Error fetching product details" and "Error fetching
 * product reviews", productpage's own calls being denied by the policy of the default namespace.
 * The steps after (details-viewer, reviews-viewer, ratings-viewer) admit productpage's and
 * reviews' principals, which need mutual TLS between sidecars to be known.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bookinfoMesh, projectBookinfo } from './bookinfo.js';
import { startMesh } from './harness.js';
import type { Mesh } from './harness.js';

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

describe('authorization for HTTP traffic on Bookinfo', () => {
  let mesh: Mesh;

  before(async () => {
    mesh = await startMesh(bookinfoMesh(projectBookinfo));
    assert.equal((await mesh.get('/productpage')).status, 200);
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
    assert.match(r.body, /Error fetching product details/);
    assert.match(r.body, /Error fetching product reviews/);
  });
});
