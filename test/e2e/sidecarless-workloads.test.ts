/**
 * Workloads without a sidecar, as Istio's security tasks use them: httpbin and curl from Istio's
 * own samples in `foo` (sidecars, the default) and `legacy` (namespace labelled
 * `istio-injection: disabled`), plus a pod opted out with `sidecar.istio.io/inject: "false"`.
 * Sidecar-less pods run no proxy, `skiff exec` works in them, and every client reaches every
 * httpbin (`curl http://httpbin.<ns>:8000/ip` answers 200 for all four pairs): a sidecar-less client
 * goes plaintext straight to an endpoint, as through kube-proxy.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { repoRoot } from '../helpers/cli.js';
import { istioSample, skipWithoutIstioSamples } from '../helpers/shared.js';
import { startMesh } from './harness.js';
import type { Mesh } from './harness.js';

const NAMESPACES = `apiVersion: v1
kind: Namespace
metadata:
  name: foo
---
apiVersion: v1
kind: Namespace
metadata:
  name: legacy
  labels:
    istio-injection: disabled
`;

describe('workloads without a sidecar', { skip: skipWithoutIstioSamples }, () => {
  let mesh: Mesh;
  before(async () => {
    mesh = await startMesh({ files: [], images: join(repoRoot, 'samples', 'images.yaml') });
    await mesh.apply(NAMESPACES);
    for (const ns of ['foo', 'legacy']) {
      for (const file of [istioSample('httpbin', 'httpbin.yaml'), istioSample('curl', 'curl.yaml')]) {
        const out = await mesh.skiff(['apply', '-f', file, '-n', ns]);
        assert.equal(out.code, 0, out.stderr);
      }
    }
    await mesh.waitReady(120_000);
  });
  after(async () => {
    await mesh?.stop();
  });

  test('pods of a namespace with istio-injection: disabled run without a proxy; the others keep theirs', async () => {
    const pods = mesh.pods();
    const legacy = pods.filter((p) => p.namespace === 'legacy');
    const foo = pods.filter((p) => p.namespace === 'foo');
    assert.equal(legacy.length, 2);
    assert.equal(foo.length, 2);
    for (const p of legacy) assert.equal(p.ports.admin, undefined, `${p.name} has no sidecar`);
    for (const p of foo) assert.notEqual(p.ports.admin, undefined, `${p.name} has its sidecar`);
    const status = await mesh.skiff(['proxy-status']);
    assert.doesNotMatch(status.stdout, /\.legacy\b/, 'no legacy proxy is connected');
    assert.match(status.stdout, /httpbin-\S+\.foo/);
  });

  for (const from of ['foo', 'legacy']) {
    for (const to of ['foo', 'legacy']) {
      test(`curl in ${from} reaches httpbin.${to}:8000/ip (200)`, async () => {
        const out = await mesh.exec('deploy/curl', from, ['curl', `http://httpbin.${to}:8000/ip`, '-s', '-o', '/dev/null', '-w', '%{http_code}']);
        assert.equal(out.stdout.trim(), '200', `${from} → ${to}: ${out.stdout} ${out.stderr}`);
      });
    }
  }

  test('a pod annotated sidecar.istio.io/inject: "false" runs without a proxy in a namespace with sidecars', async () => {
    await mesh.apply(`apiVersion: v1
kind: Pod
metadata:
  name: plain
  namespace: foo
  annotations:
    sidecar.istio.io/inject: "false"
spec:
  containers:
  - name: curl
    image: docker.io/curlimages/curl:8.16.0
    command: ["/bin/sleep", "infinity"]
`);
    await mesh.waitReady(60_000);
    const plain = mesh.pods().find((p) => p.name === 'plain');
    assert.ok(plain !== undefined);
    assert.equal(plain.ports.admin, undefined);
    const out = await mesh.exec('plain', 'foo', ['curl', 'http://httpbin:8000/ip', '-s', '-o', '/dev/null', '-w', '%{http_code}']);
    assert.equal(out.stdout.trim(), '200', `${out.stdout} ${out.stderr}`);
  });
});
