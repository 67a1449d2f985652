/**
 * Proof of workload on Kubernetes: a certificate request's credential is the pod's istio-ca
 * service-account token, checked with a TokenReview against the (fake) API server. Checked alone
 * (every refusal) and through skiffd in Kubernetes mode, where a proxy's CSR on its push stream is
 * signed for the token's service account only.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateCrds } from '../../src/api/index.js';
import { startKubeSkiffd } from '../../src/cli/kube-skiffd.js';
import type { RunningKubeSkiffd } from '../../src/cli/kube-skiffd.js';
import { KubeClient } from '../../src/kube/client.js';
import { TokenReviewAuthenticator } from '../../src/kube/token-review.js';
import { CONTENT_TYPE, STREAM_PATH, encodeLine } from '../../src/snapshot/index.js';
import { Disposer } from '../helpers/disposer.js';
import { tool } from '../helpers/tools.js';
import { FakeApiServer } from './fake-apiserver/server.js';

const openssl = tool('openssl');

describe('TokenReview authenticator', () => {
  let api: FakeApiServer;
  let client: KubeClient;
  let auth: TokenReviewAuthenticator;
  const disposer = new Disposer();
  before(disposer.setup(async () => {
    api = disposer.add(new FakeApiServer(), (a) => a.stop());
    client = disposer.add(new KubeClient({ server: await api.start(), origin: 'test' }), (c) => c.close());
    auth = new TokenReviewAuthenticator(client);
  }));
  after(() => disposer.drain());

  it("proves the service account of a token for the istio-ca audience, sending the token and the audience", async () => {
    const token = api.issueToken('bookinfo', 'bookinfo-reviews', ['istio-ca']);
    assert.deepEqual(await auth.authenticate({ credential: token }), { namespace: 'bookinfo', serviceAccount: 'bookinfo-reviews' });
    assert.ok(api.requests.some((r) => r.method === 'POST' && r.url === '/apis/authentication.k8s.io/v1/tokenreviews'));
  });

  it('refuses no token, a forged one, one for another audience, and an API server it cannot reach', async () => {
    await assert.rejects(auth.authenticate({}), /carries no credential/);
    await assert.rejects(auth.authenticate({ credential: 'forged' }), /the token is not authenticated: \[invalid bearer token/);
    const kubeToken = api.issueToken('bookinfo', 'bookinfo-reviews', ['https://kubernetes.default.svc.cluster.local']);
    await assert.rejects(auth.authenticate({ credential: kubeToken }), /not authenticated: .*audiences/);
    const nowhere = new KubeClient({ server: 'http://127.0.0.1:1', origin: 'test' });
    await assert.rejects(new TokenReviewAuthenticator(nowhere).authenticate({ credential: kubeToken }), /the token could not be reviewed/);
    nowhere.close();
  });

  it('refuses a user that is not a service account, and a review for an audience it did not ask for', async () => {
    let status: object = {};
    const server = http.createServer((_req, res) => res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'TokenReview', status })));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const c = new KubeClient({ server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, origin: 'test' });
    const a = new TokenReviewAuthenticator(c);
    status = { authenticated: true, user: { username: 'kubernetes-admin' }, audiences: ['istio-ca'] };
    await assert.rejects(a.authenticate({ credential: 't' }), /the token's user "kubernetes-admin" is not a service account/);
    status = { authenticated: true, user: { username: 'system:serviceaccount:a:b' }, audiences: ['other'] };
    await assert.rejects(a.authenticate({ credential: 't' }), /not for the audience istio-ca \(it is for other\)/);
    c.close();
    server.close();
  });
});

describe('certificates for proxies in Kubernetes mode', { skip: openssl.skip }, () => {
  let api: FakeApiServer;
  let dir: string;
  let running: RunningKubeSkiffd;
  const disposer = new Disposer();
  before(disposer.setup(async () => {
    openssl.require();
    api = disposer.add(new FakeApiServer({ crds: generateCrds() }), (a) => a.stop());
    const url = await api.start();
    dir = disposer.tempDir('skiff-kube-ca-');
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\ncurrent-context: fake\ncontexts: [{name: fake, context: {cluster: fake, user: admin}}]\nclusters: [{name: fake, cluster: {server: "${url}"}}]\nusers: [{name: admin, user: {token: t}}]\n`);
    // skiffd's own namespace, where it keeps the mesh CA's Secret (as `skiff install` creates it).
    await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system' } });
    running = disposer.add(await startKubeSkiffd({ stateDir: join(dir, 'state'), kubeconfig, apiPort: 0, pushPort: 0, pushTlsPort: 0, pushTlsHost: '127.0.0.1', rootNamespace: 'istio-system', webhookPort: false, proxyImage: 'skiff:test' }, () => undefined), (r) => r.stop());
  }));
  after(() => disposer.drain());

  /** Sends one CSR on a push stream, as a sidecar does, and returns skiffd's answer. */
  async function requestCertificate(credential: string | undefined, claimedNamespace: string): Promise<{ type: string; certChain?: string[]; reason?: string }> {
    execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', join(dir, 'k.pem')]);
    execFileSync('openssl', ['req', '-new', '-key', join(dir, 'k.pem'), '-subj', '/O=skiff', '-out', join(dir, 'csr.pem')]);
    const csr = readFileSync(join(dir, 'csr.pem'), 'utf8');
    const session = http2.connect(running.skiffd.pushUrl);
    try {
      const stream = session.request({ ':method': 'POST', ':path': STREAM_PATH, 'content-type': CONTENT_TYPE }, { endStream: false });
      stream.setEncoding('utf8');
      stream.write(encodeLine({ type: 'hello', node: { id: `reviews-v1-abc.${claimedNamespace}`, kind: 'sidecar', workload: { name: 'reviews-v1-abc', namespace: claimedNamespace, labels: {}, serviceAccount: 'bookinfo-reviews' } } }));
      stream.write(encodeLine({ type: 'csr', requestId: 'r1', csr, ...(credential !== undefined ? { credential } : {}) }));
      return await new Promise((resolve, reject) => {
        let buf = '';
        stream.on('data', (d: string) => {
          buf += d;
          for (const line of buf.split('\n').slice(0, -1)) {
            const m = JSON.parse(line) as { type: string };
            if (m.type === 'certificate' || m.type === 'certificate-refused') resolve(m);
          }
          buf = buf.slice(buf.lastIndexOf('\n') + 1);
        });
        stream.on('close', () => reject(new Error('the stream closed without an answer')));
      });
    } finally {
      session.destroy();
    }
  }

  it("signs a proxy's CSR for the service account its istio-ca token proves, whatever its hello claims", async () => {
    const token = api.issueToken('bookinfo', 'bookinfo-reviews', ['istio-ca']);
    const answer = await requestCertificate(token, 'somewhere-else');
    assert.equal(answer.type, 'certificate', JSON.stringify(answer));
    const leaf = new X509Certificate(answer.certChain?.[0] ?? '');
    assert.equal(leaf.subjectAltName, 'URI:spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews');
  });

  it('refuses a CSR whose token the API server does not authenticate for istio-ca', async () => {
    const wrong = api.issueToken('bookinfo', 'bookinfo-reviews', ['https://kubernetes.default.svc.cluster.local']);
    const answer = await requestCertificate(wrong, 'bookinfo');
    assert.equal(answer.type, 'certificate-refused');
    assert.match(answer.reason ?? '', /not authenticated/);
    const none = await requestCertificate(undefined, 'bookinfo');
    assert.equal(none.type, 'certificate-refused');
  });
});
