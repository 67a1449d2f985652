/**
 * Proxies in pods reach skiffd over TLS, as Istio's sidecars reach istiod on 15012: a real
 * `skiff skiffd --kubeconfig` process against the fake API server serves its push port over TLS
 * with a certificate the mesh CA signed for `skiffd.istio-system.svc`, and a real `skiff proxy`
 * that trusts only the mesh root (as its pod mounts it from the `istio-ca-root-cert` ConfigMap)
 * and proves its pod with its istio-ca token gets its config and a
 * workload certificate for its service account. A proxy trusting another root, or expecting
 * another name, does not connect and says why.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateCrds } from '../../src/api/index.js';
import { MeshCa } from '../../src/controlplane/ca/index.js';
import { runSkiff, startSkiff, type RunningSkiff } from '../helpers/cli.js';
import { Disposer } from '../helpers/disposer.js';
import { FakeApiServer } from './fake-apiserver/server.js';

const NS = 'bookinfo';
/** A loopback address of its own, so the pod's listeners bind where no other test's do. */
const POD_IP = `127.${20 + (process.pid % 200)}.${(process.pid >> 8) % 250}.7`;

async function waitFor(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

describe('skiffd serving proxies in pods over TLS', () => {
  let api: FakeApiServer;
  let dir: string;
  let skiffd: RunningSkiff | undefined;
  let tlsPort = 0;
  let rootFile: string;
  let tokenFile: string;

  const disposer = new Disposer();
  /** A `skiff proxy` of the pod, stopped by the drain. */
  const proxy = (id: string, extra: string[]): RunningSkiff => {
    const r = startSkiff([
      'proxy', '--kind', 'sidecar', '--control-plane', `https://127.0.0.1:${tlsPort}`, '--credential-file', tokenFile,
      '--id', `${id}.${NS}`, '--workload', id, '--namespace', NS, '--service-account', 'bookinfo-reviews',
      '--admin-port', '0', '--health-port', '0', '--health-address', '127.0.0.1', '--concurrency', '1', '--drain-ms', '100', ...extra,
    ]);
    return disposer.add(r, (p) => p.stop());
  };

  before(disposer.setup(async () => {
    api = disposer.add(new FakeApiServer({ crds: generateCrds() }), (a) => a.stop());
    const url = await api.start();
    dir = disposer.tempDir('skiff-kube-tls-');
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\ncurrent-context: fake\ncontexts: [{name: fake, context: {cluster: fake, user: admin}}]\nclusters: [{name: fake, cluster: {server: "${url}"}}]\nusers: [{name: admin, user: {token: t}}]\n`);
    await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system' } });
    await api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'reviews', namespace: NS }, spec: { selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080 }] } });
    api.put({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'reviews-v1-abc', namespace: NS, labels: { app: 'reviews', version: 'v1', 'security.istio.io/tlsMode': 'istio' } },
      spec: { serviceAccountName: 'bookinfo-reviews', containers: [{ name: 'reviews', image: 'reviews', ports: [{ containerPort: 9080 }] }, { name: 'istio-proxy', image: 'skiff' }] },
      status: { phase: 'Running', podIP: POD_IP },
    });
    // The pod's projected token, audience istio-ca, as the kubelet writes it.
    tokenFile = join(dir, 'istio-token');
    writeFileSync(tokenFile, api.issueToken(NS, 'bookinfo-reviews', ['istio-ca']), { mode: 0o600 });
    skiffd = disposer.add(startSkiff(['skiffd', '--kubeconfig', kubeconfig, '--state-dir', join(dir, 'state'), '--api-port', '0', '--push-port', '0', '--push-tls-port', '0', '--no-webhooks']), (s) => s.stop());
    await waitFor(() => /push over TLS on [\d.]+:\d+/.test(skiffd!.out()), 'skiffd to serve over TLS');
    tlsPort = Number(/push over TLS on [\d.]+:(\d+)/.exec(skiffd.out())![1]);
    // The root as the pod mounts it: the istio-ca-root-cert ConfigMap skiffd keeps in its namespace.
    await waitFor(() => api.get('v1', 'ConfigMap', NS, 'istio-ca-root-cert') !== undefined, 'the istio-ca-root-cert ConfigMap');
    rootFile = join(dir, 'root-cert.pem');
    writeFileSync(rootFile, (api.get('v1', 'ConfigMap', NS, 'istio-ca-root-cert')!.data as Record<string, string>)['root-cert.pem']);
  }));

  after(() => disposer.drain());

  it('serves its push port on every address, with a certificate for skiffd.istio-system.svc from the mesh CA', () => {
    assert.match(skiffd!.out(), /push over TLS on 0\.0\.0\.0:\d+ as skiffd\.istio-system\.svc/);
  });

  it('gives a proxy trusting the mesh root its config and a certificate for the service account its token proves', async () => {
    const p = proxy('reviews-v1-abc', ['--control-plane-san', 'skiffd.istio-system.svc', '--control-plane-root-cert', rootFile]);
    await waitFor(() => /workload certificate installed: spiffe:\/\/cluster\.local\/ns\/bookinfo\/sa\/bookinfo-reviews/.test(p.out()), 'the workload certificate', 40_000);
    assert.match(p.out(), new RegExp(`connected to the control plane at https://127\\.0\\.0\\.1:${tlsPort}`));
    await waitFor(() => /snapshot \S+ applied/.test(p.out()), 'the snapshot');
    assert.ok(api.requests.some((r) => r.method === 'POST' && r.url === '/apis/authentication.k8s.io/v1/tokenreviews'), 'the token was reviewed');
    const admin = Number(/admin on [\d.]+:(\d+)/.exec(p.out())?.[1]);
    const certs = JSON.parse(await get(admin, '/certs')) as { identity: boolean };
    assert.equal(certs.identity, true);
  });

  it('refuses a control plane whose certificate chains to another root, saying so', async () => {
    const other = await MeshCa.selfSigned(join(dir, 'other'), 'cluster.local');
    const otherRoot = join(dir, 'other-root.pem');
    writeFileSync(otherRoot, other.rootCert);
    const p = proxy('reviews-v1-abc', ['--control-plane-san', 'skiffd.istio-system.svc', '--control-plane-root-cert', otherRoot]);
    await waitFor(() => /cannot reach the control plane/.test(p.out()), 'the refusal');
    assert.match(p.out(), /the control plane's certificate does not chain to the mesh root/);
    assert.doesNotMatch(p.out(), /connected to the control plane/);
  });

  it('refuses a control plane whose certificate does not carry the expected name, and says when the root file is missing', async () => {
    const p = proxy('reviews-v1-abc', ['--control-plane-san', 'istiod.istio-system.svc', '--control-plane-root-cert', rootFile]);
    await waitFor(() => /cannot reach the control plane/.test(p.out()), 'the refusal');
    assert.match(p.out(), /the control plane's certificate does not name it: .*istiod\.istio-system\.svc/);
    const q = proxy('reviews-v1-abc', ['--control-plane-san', 'skiffd.istio-system.svc', '--control-plane-root-cert', join(dir, 'absent.pem')]);
    await waitFor(() => /cannot reach the control plane/.test(q.out()), 'the refusal');
    assert.match(q.out(), /cannot read the control plane's root certificate .*absent\.pem: ENOENT/);
  });
});

describe('skiff skiffd --push-tls-address', () => {
  it('refuses an address that is not an IP, naming the flag', async () => {
    const r = await runSkiff(['skiffd', '--push-tls-address', 'skiffd.istio-system.svc', '--kubeconfig', '/nonexistent']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /option '--push-tls-address <ip>' argument 'skiffd\.istio-system\.svc' is invalid\. not an IP address: skiffd\.istio-system\.svc/);
  });
});
