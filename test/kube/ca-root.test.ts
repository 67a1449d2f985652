/**
 * The mesh root on Kubernetes, as istiod keeps it: two skiffd replicas started at the same moment
 * against the fake API server create one `istio-ca-secret` between them and both sign with its
 * root (each one's TLS push port verifies against that root, for `skiffd.istio-system.svc`); a
 * plugged-in `cacerts` Secret is used as it is and never written; and the root is published as
 * the `istio-ca-root-cert` ConfigMap in every namespace — one created later too — and put back
 * when edited or deleted.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { generateCrds } from '../../src/api/index.js';
import type { RunningKubeSkiffd } from '../../src/cli/kube-skiffd.js';
import { startKubeSkiffd } from '../../src/cli/kube-skiffd.js';
import { Disposer } from '../helpers/disposer.js';
import { istioSample, requireIstioSamples, skipWithoutIstioSamples } from '../helpers/shared.js';
import { FakeApiServer } from './fake-apiserver/server.js';

const CM = 'istio-ca-root-cert';

async function waitFor(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The subject of the certificate a TLS server presents to a client that trusts only `root` and expects skiffd's name. */
function verifiedPeer(url: string, root: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: hostname, port: Number(port), ca: root, servername: 'skiffd.istio-system.svc', ALPNProtocols: ['h2'] }, () => {
      const names = socket.getPeerCertificate().subjectaltname ?? '';
      socket.end();
      resolve(names);
    });
    socket.on('error', reject);
  });
}

function kubeconfigFor(dir: string, url: string): string {
  const file = join(dir, 'kubeconfig');
  writeFileSync(file, `apiVersion: v1\nkind: Config\ncurrent-context: fake\ncontexts: [{name: fake, context: {cluster: fake, user: admin}}]\nclusters: [{name: fake, cluster: {server: "${url}"}}]\nusers: [{name: admin, user: {token: t}}]\n`);
  return file;
}

const start = (dir: string, kubeconfig: string, name: string): Promise<RunningKubeSkiffd> =>
  startKubeSkiffd({ stateDir: join(dir, name), kubeconfig, apiPort: 0, pushPort: 0, pushTlsPort: 0, pushTlsHost: '127.0.0.1', rootNamespace: 'istio-system', webhookPort: false, proxyImage: 'skiff:test' }, () => undefined);

const rootIn = (api: FakeApiServer, ns: string): string | undefined => (api.get('v1', 'ConfigMap', ns, CM)?.data as Record<string, string> | undefined)?.['root-cert.pem'];

describe('the mesh root shared by skiffd replicas and published to every namespace', () => {
  let api: FakeApiServer;
  let dir: string;
  const replicas: RunningKubeSkiffd[] = [];

  const disposer = new Disposer();
  /** A replica, stopped by the drain (also when the other one failed to start). */
  const replica = async (kubeconfig: string, name: string): Promise<RunningKubeSkiffd> => disposer.add(await start(dir, kubeconfig, name), (r) => r.stop());

  before(disposer.setup(async () => {
    api = disposer.add(new FakeApiServer({ crds: generateCrds() }), (a) => a.stop());
    const url = await api.start();
    dir = disposer.tempDir('skiff-kube-ca-root-');
    await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system' } });
    await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bookinfo' } });
    const kubeconfig = kubeconfigFor(dir, url);
    // Both at once: they race to create the Secret.
    replicas.push(...(await Promise.all([replica(kubeconfig, 'a'), replica(kubeconfig, 'b')])));
  }));

  after(() => disposer.drain());

  it('creates one istio-ca-secret, whose root both replicas sign with', async () => {
    const secrets = api.list('v1', 'Secret', 'istio-system').filter((s) => s.metadata.name === 'istio-ca-secret');
    assert.equal(secrets.length, 1);
    assert.equal(secrets[0].type, 'istio.io/ca-root');
    const data = secrets[0].data as Record<string, string>;
    const root = Buffer.from(data['ca-cert.pem'], 'base64').toString('utf8');
    assert.ok(new X509Certificate(root).ca, 'ca-cert.pem is a CA certificate');
    assert.match(Buffer.from(data['ca-key.pem'], 'base64').toString('utf8'), /-----BEGIN PRIVATE KEY-----/);
    for (const r of replicas) {
      assert.equal(r.rootCert.trim(), root.trim());
      // Each replica's TLS push port presents a certificate that root verifies, for skiffd's Service.
      assert.match(await verifiedPeer(r.pushTlsUrl!, root), /DNS:skiffd\.istio-system\.svc/);
    }
  });

  it('publishes the root as istio-ca-root-cert in every namespace but Kubernetes’ own, and in a namespace created later', async () => {
    const root = replicas[0].rootCert;
    await waitFor(() => ['default', 'istio-system', 'bookinfo'].every((ns) => rootIn(api, ns) === root), 'the ConfigMaps');
    assert.equal(api.get('v1', 'ConfigMap', 'bookinfo', CM)?.metadata.labels?.['istio.io/config'], 'true');
    assert.equal(api.get('v1', 'ConfigMap', 'kube-system', CM), undefined);
    await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'later' } });
    await waitFor(() => rootIn(api, 'later') === root, 'the ConfigMap of a new namespace');
  });

  it('writes the root back into an edited ConfigMap and creates a deleted one again', async () => {
    const root = replicas[0].rootCert;
    const cm = api.get('v1', 'ConfigMap', 'bookinfo', CM)!;
    api.put({ ...cm, data: { 'root-cert.pem': 'tampered' } });
    await waitFor(() => rootIn(api, 'bookinfo') === root, 'the edited ConfigMap to be repaired');
    api.remove('v1', 'ConfigMap', 'bookinfo', CM);
    await waitFor(() => rootIn(api, 'bookinfo') === root, 'the deleted ConfigMap to be created again');
  });

  it('keeps the Secret when a replica restarts: the new one signs with the same root', async () => {
    const before = replicas[0].rootCert;
    await replicas[0].stop();
    replicas[0] = await replica(kubeconfigFor(dir, api.url), 'a2');
    assert.equal(replicas[0].rootCert, before);
  });
});

describe('a plugged-in CA in the cacerts Secret', { skip: skipWithoutIstioSamples }, () => {
  let api: FakeApiServer;
  let dir: string;
  let running: RunningKubeSkiffd | undefined;

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    requireIstioSamples();
    api = disposer.add(new FakeApiServer({ crds: generateCrds() }), (a) => a.stop());
    const url = await api.start();
    dir = disposer.tempDir('skiff-kube-cacerts-');
    await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system' } });
    const file = (name: string): string => readFileSync(istioSample('certs', name)).toString('base64');
    await api.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'cacerts', namespace: 'istio-system' },
      data: { 'ca-cert.pem': file('ca-cert.pem'), 'ca-key.pem': file('ca-key.pem'), 'root-cert.pem': file('root-cert.pem'), 'cert-chain.pem': file('cert-chain.pem') },
    });
    running = disposer.add(await start(dir, kubeconfigFor(dir, url), 'a'), (r) => r.stop());
  }));

  after(() => disposer.drain());

  it('signs with it, publishes its root, and writes no Secret', async () => {
    const root = readFileSync(istioSample('certs', 'root-cert.pem'), 'utf8');
    assert.equal(running!.rootCert.trim(), root.trim());
    await waitFor(() => rootIn(api, 'default')?.trim() === root.trim(), 'the ConfigMap');
    assert.match(await verifiedPeer(running!.pushTlsUrl!, root), /DNS:skiffd\.istio-system\.svc/);
    assert.equal(api.get('v1', 'Secret', 'istio-system', 'istio-ca-secret'), undefined);
    assert.deepEqual(
      api.requests.filter((r) => r.method !== 'GET' && r.url.includes('/secrets')),
      [],
      'no Secret was written',
    );
  });

  it('refuses to start on a cacerts Secret missing a key, naming it', async () => {
    api.put({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cacerts', namespace: 'istio-system' }, data: { 'ca-cert.pem': 'eA==' } });
    await assert.rejects(start(dir, kubeconfigFor(dir, api.url), 'b'), /Secret istio-system\/cacerts has no ca-key\.pem/);
  });
});
