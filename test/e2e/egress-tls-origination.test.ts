/**
 * Istio's "Egress TLS Origination" task on the local mesh: a ServiceEntry for `edition.cnn.com` on
 * ports 80 (HTTP) and 443 (HTTPS) and a DestinationRule with `tls.mode: SIMPLE` on port 80, so
 * that `curl http://edition.cnn.com/politics` in the curl pod goes out as plain HTTP to its
 * sidecar and leaves it as TLS. A local HTTPS server stands in for edition.cnn.com: the
 * ServiceEntry lists it as a STATIC endpoint on 127.0.0.1, and the DestinationRule trusts its CA
 * through `credentialName` (a Secret in the pod's namespace) instead of the system's roots. The
 * server records what it saw: TLS, with SNI edition.cnn.com. With a CA that did not sign it, the
 * caller gets the 503 Envoy answers, worded as Envoy words it.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import https from 'node:https';
import { join } from 'node:path';
import type tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { repoRoot } from '../helpers/cli.js';
import { istioSample, skipWithoutIstioSamples } from '../helpers/shared.js';
import { authority } from '../helpers/test-pki.js';
import { tool } from '../helpers/tools.js';
import { startMesh, type Mesh } from './harness.js';
import { Disposer } from '../helpers/disposer.js';

const openssl = tool('openssl');

/** The page's ServiceEntry, its endpoint moved to the stand-in server (resolution STATIC instead of DNS). */
const SERVICE_ENTRY = (port: number): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: edition-cnn-com
spec:
  hosts:
  - edition.cnn.com
  ports:
  - number: 80
    name: http-port
    protocol: HTTP
    targetPort: 443
  - number: 443
    name: https-port
    protocol: HTTPS
  resolution: STATIC
  endpoints:
  - address: 127.0.0.1
    ports:
      http-port: ${port}
      https-port: ${port}
`;

/** The page's DestinationRule, with the CA it trusts named by credentialName. */
const DESTINATION_RULE = (credential: string): string => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: edition-cnn-com
spec:
  host: edition.cnn.com
  trafficPolicy:
    portLevelSettings:
    - port:
        number: 80
      tls:
        mode: SIMPLE # initiates HTTPS when accessing edition.cnn.com
        credentialName: ${credential}
`;

const caSecret = (name: string, pem: string): string =>
  `${JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'default' }, type: 'Opaque', data: { cacert: Buffer.from(pem).toString('base64') } })}\n`;

const CURL = skipWithoutIstioSamples === false ? istioSample('curl', 'curl.yaml') : join(repoRoot, 'samples', 'curl', 'curl.yaml');

describe("Istio's Egress TLS Origination task", { skip: openssl.skip, timeout: 180_000 }, () => {
  let mesh: Mesh | undefined;
  let server: https.Server | undefined;
  const seen: { sni: string | false | null; path: string }[] = [];
  const started = (): Mesh => mesh ?? assert.fail('the mesh did not start');

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    openssl.require();
    const ca = authority('cnn-stand-in');
    const leaf = ca.issue('edition', ['DNS:edition.cnn.com']);
    server = https.createServer({ cert: leaf.cert, key: leaf.key }, (req, res) => {
      seen.push({ sni: (req.socket as tls.TLSSocket).servername, path: req.url ?? '' });
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>politics</html>\n');
    });
    disposer.add(server, (s) => {
      s.closeAllConnections();
      s.close();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    mesh = disposer.add(await startMesh({ files: [CURL], ...(skipWithoutIstioSamples === false ? { images: join(repoRoot, 'samples', 'images.yaml') } : {}) }), (m) => m.stop());
    await mesh.apply(caSecret('cnn-ca', ca.cert));
    await mesh.apply(caSecret('unrelated-ca', authority('unrelated-root').cert));
    await mesh.apply(`${SERVICE_ENTRY(port)}---\n${DESTINATION_RULE('cnn-ca')}`);
  }));

  after(() => disposer.drain());

  test('curl -sSL -o /dev/null -D - http://edition.cnn.com/politics → HTTP/1.1 200 OK; the server saw TLS with SNI edition.cnn.com', async () => {
    seen.length = 0;
    const res = await started().exec('deploy/curl', 'default', ['curl', '-sSL', '-o', '/dev/null', '-D', '-', 'http://edition.cnn.com/politics']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^HTTP\/1\.1 200 OK\r\n/);
    assert.deepEqual(seen, [{ sni: 'edition.cnn.com', path: '/politics' }]);
  });

  test('a DestinationRule trusting a CA that did not sign the server: 503, with Envoy’s transport failure reason', async () => {
    await started().apply(DESTINATION_RULE('unrelated-ca'));
    try {
      seen.length = 0;
      const res = await started().exec('deploy/curl', 'default', ['curl', '-sS', '-i', 'http://edition.cnn.com/politics']);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
      assert.match(
        res.stdout,
        /upstream connect error or disconnect\/reset before headers\. .*reset reason: remote connection failure, transport failure reason: TLS_error:\|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:TLS_error_end/,
      );
      assert.deepEqual(seen, [], 'no request reached the server');
    } finally {
      await started().apply(DESTINATION_RULE('cnn-ca'));
    }
  });
});
