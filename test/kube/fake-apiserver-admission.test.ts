/**
 * The fake API server's dynamic admission: real HTTPS webhooks reached through their Service,
 * trusted through the configuration's caBundle and the name `<service>.<namespace>.svc`; a mutating
 * webhook's JSON patch lands in the stored object, a validating webhook's denial is the API
 * server's error, selectors decide which objects are sent, and an unreachable webhook fails the
 * request unless its failure policy is Ignore.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Disposer } from '../helpers/disposer.js';
import { authority } from '../helpers/test-pki.js';
import { tool } from '../helpers/tools.js';
import { call } from './api-client.js';
import { FakeApiServer } from './fake-apiserver/server.js';

const openssl = tool('openssl');

interface Review {
  request: { uid: string; operation: string; object: { metadata: { name: string; labels?: Record<string, string> } } };
}

describe('fake API server admission', { skip: openssl.skip }, () => {
  let api: FakeApiServer;
  let base: string;
  let hook: https.Server;
  const seen: string[] = [];
  const disposer = new Disposer();
  before(disposer.setup(async () => {
    openssl.require();
    const ca = authority('admission');
    const leaf = ca.issue('hooks', ['DNS:hooks.hook-system.svc']);
    hook = disposer.add(https.createServer({ cert: leaf.cert, key: leaf.key }, (req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => (body += d));
      req.on('end', () => {
        const review = JSON.parse(body) as Review;
        const o = review.request.object;
        seen.push(`${req.url} ${review.request.operation} ${o.metadata.name}`);
        let response: object;
        if (req.url === '/mutate') {
          const patch = [{ op: 'add', path: '/metadata/labels', value: { ...o.metadata.labels, mutated: 'yes' } }];
          response = { uid: review.request.uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') };
        } else {
          const bad = o.metadata.name.startsWith('bad');
          response = { uid: review.request.uid, allowed: !bad, ...(bad ? { status: { code: 400, message: `name ${o.metadata.name} is not allowed` } } : {}) };
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
      });
    }), (h) => h.close());
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const hookPort = (hook.address() as AddressInfo).port;
    api = disposer.add(new FakeApiServer({ resolveService: (ns, name) => (ns === 'hook-system' && name === 'hooks' ? { host: '127.0.0.1', port: hookPort } : undefined) }), (a) => a.stop());
    base = await api.start();
    const caBundle = Buffer.from(ca.cert).toString('base64');
    const rules = [{ operations: ['CREATE', 'UPDATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'] }];
    await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'watched', labels: { admit: 'on' } } });
    await api.create({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: 'mutator' },
      webhooks: [{ name: 'mutate.test', clientConfig: { service: { namespace: 'hook-system', name: 'hooks', path: '/mutate' }, caBundle }, rules, namespaceSelector: { matchLabels: { admit: 'on' } }, admissionReviewVersions: ['v1'], sideEffects: 'None' }],
    });
    await api.create({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'validator' },
      webhooks: [
        { name: 'validate.test', clientConfig: { service: { namespace: 'hook-system', name: 'hooks', path: '/validate' }, caBundle }, rules, namespaceSelector: { matchLabels: { admit: 'on' } }, admissionReviewVersions: ['v1'], sideEffects: 'None' },
        { name: 'gone.test', clientConfig: { service: { namespace: 'nowhere', name: 'gone' }, caBundle }, rules, failurePolicy: 'Ignore', objectSelector: { matchLabels: { optional: 'yes' } }, admissionReviewVersions: ['v1'], sideEffects: 'None' },
        { name: 'required.test', clientConfig: { service: { namespace: 'nowhere', name: 'gone' }, caBundle }, rules, objectSelector: { matchLabels: { required: 'yes' } }, admissionReviewVersions: ['v1'], sideEffects: 'None' },
      ],
    });
  }));
  after(() => disposer.drain());

  it("stores a mutating webhook's patch and calls the validating one on the mutated object", async () => {
    const r = await call(base, 'POST', '/api/v1/namespaces/watched/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'good' } });
    assert.equal(r.status, 201);
    assert.deepEqual((r.body.metadata as { labels: object }).labels, { mutated: 'yes' });
    assert.deepEqual(seen.splice(0), ['/mutate CREATE good', '/validate CREATE good']);
  });

  it("refuses what a validating webhook denies, with the API server's message", async () => {
    const r = await call(base, 'POST', '/api/v1/namespaces/watched/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bad-one' } });
    assert.equal(r.status, 400);
    assert.equal(r.body.message, 'admission webhook "validate.test" denied the request: name bad-one is not allowed');
    assert.equal(api.get('v1', 'ConfigMap', 'watched', 'bad-one'), undefined);
    seen.length = 0;
  });

  it('sends only what the namespace selector selects', async () => {
    const r = await call(base, 'POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bad-but-unwatched' } });
    assert.equal(r.status, 201);
    assert.deepEqual(seen, []);
  });

  it('fails a request whose webhook cannot be called, unless its failure policy is Ignore', async () => {
    const ignored = await call(base, 'POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'optional', labels: { optional: 'yes' } } });
    assert.equal(ignored.status, 201);
    const failed = await call(base, 'POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'required', labels: { required: 'yes' } } });
    assert.equal(failed.status, 500);
    assert.match(String(failed.body.message), /^Internal error occurred: failed calling webhook "required.test": failed to call webhook: service "gone" not found in namespace "nowhere"/);
  });
});
