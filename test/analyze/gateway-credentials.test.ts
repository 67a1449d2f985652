/**
 * `skiff analyze` on Gateway credentials: the Secret a terminating server names must be in the
 * gateway workload's namespace (istio-system for Skiff's ingress gateway) and hold a certificate
 * with its key — and CA certificates for MUTUAL — as the gateway will read it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { authority } from '../helpers/test-pki.js';
import { tool } from '../helpers/tools.js';
import { analyzeDocs, summary } from './fixtures.js';

const openssl = tool('openssl');

const gateway = (mode: string, credential: string): string => `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: mygateway
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["httpbin.example.com"]
    tls: {mode: ${mode}, credentialName: ${credential}}
`;

const secret = (name: string, namespace: string, data: Record<string, string>): string =>
  JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type: 'kubernetes.io/tls', data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) }) + '\n';

test('credentialName: IST0101 when the Secret is not in the gateway’s namespace, IST0161 when it cannot be used, nothing when it is right', { skip: openssl.skip }, () => {
  openssl.require();
  const ca = authority('analyze-credentials');
  const leaf = ca.issue('httpbin', ['DNS:httpbin.example.com']);
  const other = ca.issue('other', ['DNS:other.example.com']);
  const all = { allNamespaces: true };

  // In the Gateway's namespace is not where the ingress gateway (istio-system) looks.
  const wrongNamespace = analyzeDocs([gateway('SIMPLE', 'httpbin-credential'), secret('httpbin-credential', 'default', { 'tls.crt': leaf.cert, 'tls.key': leaf.key })], all);
  assert.deepEqual(summary(wrongNamespace), ['IST0101 Gateway default/mygateway: Referenced credentialName not found: "httpbin-credential"']);
  assert.equal(wrongNamespace[0].origin?.line, 10, 'at the server’s credentialName');

  const good = secret('httpbin-credential', 'istio-system', { 'tls.crt': leaf.cert, 'tls.key': leaf.key });
  assert.deepEqual(summary(analyzeDocs([gateway('SIMPLE', 'httpbin-credential'), good], all)), []);

  const mismatched = secret('httpbin-credential', 'istio-system', { 'tls.crt': other.cert, 'tls.key': leaf.key });
  assert.deepEqual(summary(analyzeDocs([gateway('SIMPLE', 'httpbin-credential'), mismatched], all)), [
    'IST0161 Gateway default/mygateway: The credential "httpbin-credential" of the Gateway is invalid: Secret istio-system/httpbin-credential key tls.key is not the key of the certificate in tls.crt',
  ]);

  // MUTUAL needs CA certificates: in the Secret (ca.crt) or in <name>-cacert.
  assert.deepEqual(summary(analyzeDocs([gateway('MUTUAL', 'httpbin-credential'), good], all)), [
    'IST0161 Gateway default/mygateway: The credential "httpbin-credential" of the Gateway is invalid: Secret istio-system/httpbin-credential has no CA certificate (cacert or ca.crt), and there is no Secret istio-system/httpbin-credential-cacert',
  ]);
  const cacert = JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'httpbin-credential-cacert', namespace: 'istio-system' }, stringData: { cacert: ca.cert } }) + '\n';
  assert.deepEqual(summary(analyzeDocs([gateway('MUTUAL', 'httpbin-credential'), good, cacert], all)), []);
});
