/**
 * Istio's "Secure Gateways": Gateway servers terminating TLS with certificates from
 * `credentialName` Secrets in the gateway's namespace. The translated snapshot runs on a real
 * proxy in front of a real HTTP backend, and real TLS clients check what a user sees: the
 * certificate served per SNI name, client certificates on MUTUAL, a Secret replaced while the
 * gateway runs, a missing or malformed Secret leaving only its own server out, `httpsRedirect`,
 * and the admin dump showing secrets by name and serial only.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { translate } from '../../../src/controlplane/translate/index.js';
import type { GatewayTarget } from '../../../src/controlplane/translate/index.js';
import type { Resource } from '../../../src/api/types.js';
import { SkiffProxy } from '../../../src/proxy/proxy.js';
import type { ProxySnapshot } from '../../../src/snapshot/index.js';
import type { RegistrySnapshot } from '../../../src/registry/types.js';
import { deadPort } from '../../proxy/helpers.js';
import { authority, type Authority, type Leaf } from '../../helpers/test-pki.js';
import { tool } from '../../helpers/tools.js';
import { loadYaml } from './cases.js';
import { Disposer } from '../../helpers/disposer.js';

const openssl = tool('openssl');

const GATEWAYS = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: mygateway, namespace: default }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 443, name: https-httpbin, protocol: HTTPS }
    tls: { mode: SIMPLE, credentialName: httpbin-credential }
    hosts: [httpbin.example.com]
  - port: { number: 443, name: https-helloworld, protocol: HTTPS }
    tls: { mode: SIMPLE, credentialName: helloworld-credential }
    hosts: [helloworld.example.com]
  - port: { number: 443, name: https-missing, protocol: HTTPS }
    tls: { mode: SIMPLE, credentialName: no-such-credential }
    hosts: [missing.example.com]
  - port: { number: 443, name: https-bad, protocol: HTTPS }
    tls: { mode: SIMPLE, credentialName: bad-credential }
    hosts: [bad.example.com]
  - port: { number: 443, name: https-mutual, protocol: HTTPS }
    tls: { mode: MUTUAL, credentialName: mutual-credential }
    hosts: [mutual.example.com]
  - port: { number: 80, name: http, protocol: HTTP }
    tls: { httpsRedirect: true }
    hosts: [httpbin.example.com]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: httpbin, namespace: default }
spec:
  hosts: [httpbin.example.com, helloworld.example.com, missing.example.com, bad.example.com, mutual.example.com]
  gateways: [mygateway]
  http:
  - route:
    - destination: { host: httpbin, port: { number: 8000 } }
`;

const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** A Secret in istio-system, `kubernetes.io/tls` or generic, as `kubectl create secret` makes them. */
function secret(name: string, data: Record<string, string>, type = 'kubernetes.io/tls'): Resource {
  const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)]));
  return loadYaml(`${name}.yaml`, JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'istio-system' }, type, data: encoded }))[0];
}

/** The subject CN and serial of the certificate the gateway serves for `sni`, or the error. */
function servedCertificate(port: number, sni: string, ca: string): Promise<{ serial: string } | { error: string }> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: sni, ca, ALPNProtocols: ['http/1.1'] }, () => {
      const serial = s.getPeerCertificate().serialNumber;
      s.end();
      resolve({ serial });
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
  });
}

interface Answer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** An HTTPS GET to the gateway with `host` as SNI and Host, as `curl --resolve host:port:127.0.0.1` sends it. */
function httpsGet(port: number, host: string, path: string, opts: { ca: string; cert?: Leaf }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, path, servername: host, headers: { host }, ca: opts.ca, agent: false, ...(opts.cert === undefined ? {} : { cert: opts.cert.cert, key: opts.cert.key }) },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function httpGet(port: number, host: string, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: '', headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('gateway TLS termination with credentialName Secrets', { skip: openssl.skip }, () => {
  let proxy: SkiffProxy | undefined;
  let backend: http.Server | undefined;
  let httpsPort = 0;
  let httpPort = 0;
  let ca: Authority;
  let clientCa: Authority;
  let httpbinLeaf: Leaf;
  let helloLeaf: Leaf;
  let registry: RegistrySnapshot;
  let target: GatewayTarget;
  const warnings: string[] = [];
  let secrets: Resource[] = [];

  const apply = async (): Promise<ProxySnapshot> => {
    warnings.length = 0;
    const snapshot = translate({ config: [...loadYaml('gw.yaml', GATEWAYS), ...secrets], registry, proxy: target, warn: (m) => warnings.push(m) });
    await proxy!.applySnapshot(snapshot);
    return snapshot;
  };

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    openssl.require();
    ca = authority('example-com');
    clientCa = authority('example-clients');
    httpbinLeaf = ca.issue('httpbin', ['DNS:httpbin.example.com']);
    helloLeaf = ca.issue('helloworld', ['DNS:helloworld.example.com']);
    const mutualLeaf = ca.issue('mutual', ['DNS:mutual.example.com']);
    const other = ca.issue('other', ['DNS:other.example.com']);
    backend = http.createServer((req, res) => {
      const m = /^\/status\/(\d{3})$/.exec(req.url ?? '');
      res.writeHead(m === null ? 200 : Number(m[1]), { 'content-type': 'text/plain' });
      res.end(m?.[1] === '418' ? "I'm a teapot" : `host=${req.headers.host}`);
    });
    disposer.add(backend, (s) => s.close());
    backend.listen(0, '127.0.0.1');
    await once(backend, 'listening');
    const appPort = (backend.address() as { port: number }).port;
    registry = {
      services: [{ name: 'httpbin', namespace: 'default', hostname: 'httpbin.default.svc.cluster.local', ports: [{ name: 'http', port: 8000, targetPort: 8000, protocol: 'TCP' }], selector: { app: 'httpbin' } }],
      workloads: [{ name: 'httpbin-0', namespace: 'default', labels: { app: 'httpbin' }, serviceAccount: 'httpbin', address: '127.0.0.1', ready: true, meshPorts: { 8000: appPort }, appPorts: { 8000: appPort } }],
    };
    httpsPort = await deadPort();
    httpPort = await deadPort();
    target = { kind: 'gateway', id: 'istio-ingressgateway.istio-system', name: 'istio-ingressgateway', namespace: 'istio-system', labels: { istio: 'ingressgateway' }, listenAddress: '127.0.0.1', portMap: { 443: httpsPort, 80: httpPort } };
    secrets = [
      secret('httpbin-credential', { 'tls.crt': httpbinLeaf.cert, 'tls.key': httpbinLeaf.key }),
      // Generic, with Istio's cert/key/cacert keys.
      secret('helloworld-credential', { cert: helloLeaf.cert, key: helloLeaf.key }, 'Opaque'),
      // A key that is not the certificate's.
      secret('bad-credential', { 'tls.crt': other.cert, 'tls.key': httpbinLeaf.key }),
      secret('mutual-credential', { 'tls.crt': mutualLeaf.cert, 'tls.key': mutualLeaf.key, 'ca.crt': clientCa.cert }),
    ];
    proxy = disposer.add(await SkiffProxy.create({ adminPort: null, healthPort: null, drainTimeoutMs: 100 }), (p) => p.close());
    await apply();
  }));

  after(() => disposer.drain());

  test('SIMPLE: curl --resolve httpbin.example.com --cacert … /status/418 gets the teapot over the Secret’s certificate', async () => {
    const r = await httpsGet(httpsPort, 'httpbin.example.com', '/status/418', { ca: ca.cert });
    assert.equal(r.status, 418);
    assert.equal(r.body, "I'm a teapot");
    assert.deepEqual(await servedCertificate(httpsPort, 'httpbin.example.com', ca.cert), { serial: httpbinLeaf.serial });
  });

  test('two hosts on 443 with two Secrets: each SNI name gets its own certificate (the generic Secret’s cert/key included)', async () => {
    assert.deepEqual(await servedCertificate(httpsPort, 'helloworld.example.com', ca.cert), { serial: helloLeaf.serial });
    const r = await httpsGet(httpsPort, 'helloworld.example.com', '/', { ca: ca.cert });
    assert.equal(r.status, 200);
    assert.equal(r.body, 'host=helloworld.example.com');
  });

  test('a host no server names, or a missing or malformed Secret’s host, finds no filter chain: the handshake fails', async () => {
    for (const sni of ['other.example.com', 'missing.example.com', 'bad.example.com']) {
      const r = await servedCertificate(httpsPort, sni, ca.cert);
      assert.ok('error' in r, `${sni}: expected no handshake, got ${JSON.stringify(r)}`);
    }
  });

  test('a missing or malformed Secret leaves its server out with a warning naming the Secret', () => {
    assert.ok(
      warnings.some((w) => w.includes('servers[2]') && w.includes('Secret istio-system/no-such-credential not found')),
      warnings.join('\n'),
    );
    assert.ok(
      warnings.some((w) => w.includes('servers[3]') && w.includes('Secret istio-system/bad-credential key tls.key is not the key of the certificate in tls.crt')),
      warnings.join('\n'),
    );
  });

  test('MUTUAL: a client without a certificate is refused, one signed by the Secret’s ca.crt is served', async () => {
    await assert.rejects(httpsGet(httpsPort, 'mutual.example.com', '/', { ca: ca.cert }));
    const stranger = ca.issue('stranger', ['DNS:client.example.com']);
    await assert.rejects(httpsGet(httpsPort, 'mutual.example.com', '/', { ca: ca.cert, cert: stranger }));
    const client = clientCa.issue('client', ['DNS:client.example.com']);
    const r = await httpsGet(httpsPort, 'mutual.example.com', '/status/418', { ca: ca.cert, cert: client });
    assert.equal(r.status, 418);
  });

  test('httpsRedirect: plain HTTP gets a 301 to https with the same host and path', async () => {
    const r = await httpGet(httpPort, 'httpbin.example.com', '/status/418?x=1');
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, 'https://httpbin.example.com/status/418?x=1');
  });

  test('the admin dump shows the secrets by name and serial, never their PEM text', async () => {
    const snap = await apply();
    assert.deepEqual(
      snap.secrets?.map((s) => s.name),
      ['kubernetes://helloworld-credential', 'kubernetes://httpbin-credential', 'kubernetes://mutual-credential', 'kubernetes://mutual-credential-cacert'],
    );
    const { configDump } = await import('../../../src/proxy/admin/secret-summary.js');
    const dump = JSON.stringify(configDump(snap));
    assert.ok(!dump.includes('BEGIN'), 'no PEM text in the dump');
    assert.ok(dump.includes(`"serialNumber":"${httpbinLeaf.serial.toLowerCase()}"`), dump);
    assert.ok(dump.includes('"privateKey":"[redacted]"'));
    assert.ok(dump.includes('{"secret":"kubernetes://httpbin-credential"}'));
    // What `skiff proxy-config secret` lists for the gateway, as istioctl does: name, type, serial.
    const { certsDump } = await import('../../../src/proxy/admin/certs.js');
    const listed = certsDump(undefined, snap.secrets).secrets;
    assert.deepEqual(
      listed.map((e) => `${e.name} ${e.type}`),
      ['kubernetes://helloworld-credential Cert Chain', 'kubernetes://httpbin-credential Cert Chain', 'kubernetes://mutual-credential Cert Chain', 'kubernetes://mutual-credential-cacert CA'],
    );
    assert.equal(listed[1].serialNumber, httpbinLeaf.serial.toLowerCase());
    assert.ok(listed.every((e) => e.pem === undefined));
  });

  test('replacing the Secret switches the served certificate without a restart; an open connection keeps working', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: ca.cert });
    const viaAgent = (): Promise<Answer> =>
      new Promise((resolve, reject) => {
        const req = https.request({ host: '127.0.0.1', port: httpsPort, path: '/status/418', servername: 'httpbin.example.com', headers: { host: 'httpbin.example.com' }, agent }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: '', headers: res.headers }));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      assert.equal((await viaAgent()).status, 418);
      const renewed = ca.issue('httpbin-renewed', ['DNS:httpbin.example.com']);
      secrets[0] = secret('httpbin-credential', { 'tls.crt': renewed.cert, 'tls.key': renewed.key });
      await apply();
      assert.deepEqual(await servedCertificate(httpsPort, 'httpbin.example.com', ca.cert), { serial: renewed.serial });
      // The pooled connection made before the change is still served.
      assert.equal((await viaAgent()).status, 418);
    } finally {
      agent.destroy();
    }
  });
});

describe('gateway TLS termination with ISTIO_MUTUAL', { skip: openssl.skip }, () => {
  test('the gateway presents its workload certificate and serves only clients the mesh root signed', async () => {
    openssl.require();
    const mesh = authority('gateway-mesh-root');
    const stranger = authority('gateway-stranger-root').issue('client', ['URI:spiffe://cluster.local/ns/default/sa/other']);
    const gatewayCert = mesh.issue('gateway', ['URI:spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account']);
    const client = mesh.issue('sleep', ['URI:spiffe://cluster.local/ns/default/sa/sleep']);
    const backend = http.createServer((_req, res) => res.end('inside'));
    backend.listen(0, '127.0.0.1');
    await once(backend, 'listening');
    const appPort = (backend.address() as { port: number }).port;
    const port = await deadPort();
    const proxy = await SkiffProxy.create({ adminPort: null, healthPort: null, drainTimeoutMs: 100 });
    try {
      proxy.workloadSecrets.install({ certChain: gatewayCert.cert, privateKey: gatewayCert.key, roots: mesh.cert });
      const config = loadYaml(
        'gw.yaml',
        `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: mesh-gateway, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 443, name: https, protocol: HTTPS }
    tls: { mode: ISTIO_MUTUAL }
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: inside, namespace: istio-system }
spec:
  hosts: ["*"]
  gateways: [mesh-gateway]
  http:
  - route:
    - destination: { host: httpbin.default.svc.cluster.local, port: { number: 8000 } }
`,
      );
      const registry: RegistrySnapshot = {
        services: [{ name: 'httpbin', namespace: 'default', hostname: 'httpbin.default.svc.cluster.local', ports: [{ name: 'http', port: 8000, targetPort: 8000, protocol: 'TCP' }], selector: { app: 'httpbin' } }],
        workloads: [{ name: 'httpbin-0', namespace: 'default', labels: { app: 'httpbin' }, serviceAccount: 'httpbin', address: '127.0.0.1', ready: true, meshPorts: { 8000: appPort }, appPorts: { 8000: appPort } }],
      };
      const target: GatewayTarget = { kind: 'gateway', id: 'gw', name: 'istio-ingressgateway', namespace: 'istio-system', labels: { istio: 'ingressgateway' }, listenAddress: '127.0.0.1', portMap: { 443: port } };
      const snapshot = translate({ config, registry, proxy: target });
      assert.deepEqual(snapshot.listeners[0].filterChains?.[0].transport, { mode: 'STRICT', tls: { mode: 'ISTIO_MUTUAL' } });
      assert.equal(snapshot.secrets, undefined, 'no named secret: the workload certificate is used');
      await proxy.applySnapshot(snapshot);
      // Mesh certificates carry URI SANs only: the client checks the chain, not a host name.
      const opts = { ca: mesh.cert, checkServerIdentity: () => undefined };
      const served = await new Promise<Answer>((resolve, reject) => {
        const req = https.request({ host: '127.0.0.1', port, path: '/', agent: false, ...opts, cert: client.cert, key: client.key }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d: string) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
        });
        req.on('error', reject);
        req.end();
      });
      assert.deepEqual({ status: served.status, body: served.body }, { status: 200, body: 'inside' });
      for (const cert of [undefined, stranger]) {
        await assert.rejects(
          new Promise((resolve, reject) => {
            const req = https.request({ host: '127.0.0.1', port, path: '/', agent: false, ...opts, ...(cert === undefined ? {} : { cert: cert.cert, key: cert.key }) }, (res) => {
              res.resume();
              res.on('end', resolve);
            });
            req.on('error', reject);
            req.end();
          }),
        );
      }
    } finally {
      await proxy.close();
      backend.close();
    }
  });
});
