/**
 * DestinationRule `tls` on real proxies, as Istio's "Egress TLS Origination" task uses it: a
 * ServiceEntry for an external host on ports 80 and 443 and a DestinationRule SIMPLE on port 80,
 * so that the app sends plain HTTP through its sidecar and the sidecar originates TLS. A local
 * HTTPS server stands in for the external host (its ServiceEntry endpoints point at 127.0.0.1)
 * and records what each connection looked like: TLS, its SNI, the client certificate. Also the
 * failures a user meets: a CA that does not sign the server (503, Envoy's words), a missing
 * credential Secret.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import https from 'node:https';
import type tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { translate } from '../../../src/controlplane/translate/index.js';
import type { ProxyTarget } from '../../../src/controlplane/translate/index.js';
import type { Resource } from '../../../src/api/types.js';
import { SkiffProxy } from '../../../src/proxy/proxy.js';
import type { RegistrySnapshot, WorkloadInstance } from '../../../src/registry/types.js';
import type { ProxySnapshot } from '../../../src/snapshot/index.js';
import { deadPort, request } from '../../proxy/helpers.js';
import { authority, type Authority } from '../../helpers/test-pki.js';
import { tool } from '../../helpers/tools.js';
import { loadYaml } from './cases.js';
import { Disposer } from '../../helpers/disposer.js';

const openssl = tool('openssl');

/** What the stand-in external server saw of one request. */
interface Seen {
  sni: string | false | null;
  path: string;
  client?: string;
}

async function startHttpsServer(options: https.ServerOptions): Promise<{ port: number; server: https.Server }> {
  const server = https.createServer(options, (req, res) => {
    const socket = req.socket as tls.TLSSocket;
    const seen: Seen = { sni: socket.servername, path: req.url ?? '' };
    const peer = socket.getPeerCertificate();
    if (peer.subjectaltname !== undefined) seen.client = peer.subjectaltname;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(seen));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as { port: number }).port, server };
}

/** Istio's task YAML for one host, its endpoint moved to the local server. */
function externalHost(name: string, host: string, port: number, tlsYaml: string): string {
  return `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: default }
spec:
  hosts: [${host}]
  ports:
  - { number: 80, name: http-port, protocol: HTTP, targetPort: ${port} }
  - { number: 443, name: https-port, protocol: HTTPS, targetPort: ${port} }
  resolution: STATIC
  endpoints:
  - address: 127.0.0.1
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ${name}, namespace: default }
spec:
  host: ${host}
  trafficPolicy:
    portLevelSettings:
    - port: { number: 80 }
      tls:
${tlsYaml
  .trim()
  .split('\n')
  .map((l) => `        ${l}`)
  .join('\n')}
---
`;
}

function secret(name: string, type: string, data: Record<string, string>): Resource {
  const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
  return loadYaml(`${name}.yaml`, JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'default' }, type, data: encoded }))[0];
}

describe('DestinationRule tls: the sidecar originates TLS to an external host', { skip: openssl.skip }, () => {
  let proxy: SkiffProxy | undefined;
  let outbound = 0;
  let snapshot: ProxySnapshot;
  const warnings: string[] = [];
  let clientCa: Authority;

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    openssl.require();
    const ca = authority('external-ca');
    const wrongCa = authority('unrelated-ca');
    clientCa = authority('egress-clients');
    const leaf = ca.issue('external', ['DNS:edition.cnn.com', 'DNS:bad-ca.example.com', 'DNS:skip.example.com', 'DNS:cred.example.com', 'DNS:missing.example.com', 'DNS:mutual.example.com']);
    const simple = await startHttpsServer({ cert: leaf.cert, key: leaf.key });
    const mutual = await startHttpsServer({ cert: leaf.cert, key: leaf.key, ca: clientCa.cert, requestCert: true, rejectUnauthorized: true });
    disposer.add(simple.server, (s) => s.close());
    disposer.add(mutual.server, (s) => s.close());
    const client = clientCa.issue('sleep', ['URI:spiffe://cluster.local/ns/default/sa/sleep']);
    const config = [
      ...loadYaml(
        'egress.yaml',
        [
          externalHost('edition-cnn-com', 'edition.cnn.com', simple.port, `mode: SIMPLE\ncaCertificates: ${ca.certFile}`),
          externalHost('bad-ca', 'bad-ca.example.com', simple.port, `mode: SIMPLE\ncaCertificates: ${wrongCa.certFile}`),
          externalHost('skip', 'skip.example.com', simple.port, 'mode: SIMPLE\ninsecureSkipVerify: true'),
          externalHost('cred', 'cred.example.com', simple.port, 'mode: SIMPLE\ncredentialName: cred-ca'),
          externalHost('missing', 'missing.example.com', simple.port, 'mode: SIMPLE\ncredentialName: no-such-secret'),
          externalHost('mutual', 'mutual.example.com', mutual.port, 'mode: MUTUAL\ncredentialName: client-credential\nsni: mutual.example.com'),
        ].join(''),
      ),
      // Generic, with the CA only (SIMPLE verifies the server with it).
      secret('cred-ca', 'Opaque', { cacert: ca.cert }),
      // kubernetes.io/tls with ca.crt: the client certificate presented and the CA checked.
      secret('client-credential', 'kubernetes.io/tls', { 'tls.crt': client.cert, 'tls.key': client.key, 'ca.crt': ca.cert }),
    ];
    const sleep: WorkloadInstance = {
      name: 'sleep-0',
      namespace: 'default',
      labels: { app: 'sleep' },
      serviceAccount: 'sleep',
      address: '127.0.0.1',
      ready: true,
      meshPorts: {},
      appPorts: {},
      sidecar: { outboundPort: await deadPort(), adminPort: 0, proxyId: 'sleep-0.default' },
    };
    outbound = sleep.sidecar!.outboundPort;
    const registry: RegistrySnapshot = { services: [], workloads: [sleep] };
    const target: ProxyTarget = { kind: 'sidecar', id: 'sleep-0.default', workload: sleep };
    snapshot = translate({ config, registry, proxy: target, warn: (m) => warnings.push(m) });
    proxy = disposer.add(await SkiffProxy.create({ adminPort: null, healthPort: null, drainTimeoutMs: 100 }), (p) => p.close());
    await proxy.applySnapshot(snapshot);
  }));

  after(() => disposer.drain());

  const get = (host: string, path: string) => request(outbound, `http://${host}${path}`, { headers: { host } });

  test('curl http://edition.cnn.com/politics through the sidecar: the server sees TLS with SNI edition.cnn.com', async () => {
    const r = await get('edition.cnn.com', '/politics');
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(JSON.parse(r.body), { sni: 'edition.cnn.com', path: '/politics' });
    const cluster = snapshot.clusters.find((c) => c.name === 'outbound|80||edition.cnn.com');
    assert.deepEqual(cluster?.tls, { mode: 'SIMPLE', sni: 'edition.cnn.com', caCertificates: { file: authority('external-ca').certFile } });
    // Port 443 has no tls of its own (port-level settings replace, as in Istio): it carries the app's TLS as it is.
    assert.equal(snapshot.clusters.find((c) => c.name === 'outbound|443||edition.cnn.com')?.tls, undefined);
  });

  test('a CA that does not sign the server: 503 with Envoy’s words for the verify failure', async () => {
    const r = await get('bad-ca.example.com', '/');
    assert.equal(r.status, 503);
    assert.match(r.body, /^upstream connect error or disconnect\/reset before headers\. .*reset reason: remote connection failure, transport failure reason: TLS_error:\|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:TLS_error_end/);
  });

  test('insecureSkipVerify: the unverified server is reached', async () => {
    const r = await get('skip.example.com', '/');
    assert.equal(r.status, 200, r.body);
    assert.equal((JSON.parse(r.body) as Seen).sni, 'skip.example.com');
  });

  test('credentialName: the CA from a Secret in the workload’s namespace verifies the server', async () => {
    const r = await get('cred.example.com', '/x');
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(JSON.parse(r.body), { sni: 'cred.example.com', path: '/x' });
    assert.ok(snapshot.secrets?.some((s) => s.name === 'kubernetes://cred-ca-cacert'));
  });

  test('MUTUAL with credentialName: the server gets the Secret’s client certificate', async () => {
    const r = await get('mutual.example.com', '/');
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(JSON.parse(r.body), { sni: 'mutual.example.com', path: '/', client: 'URI:spiffe://cluster.local/ns/default/sa/sleep' });
    const cluster = snapshot.clusters.find((c) => c.name === 'outbound|80||mutual.example.com');
    assert.deepEqual(cluster?.tls, {
      mode: 'MUTUAL',
      sni: 'mutual.example.com',
      clientCertificate: { secret: 'kubernetes://client-credential' },
      privateKey: { secret: 'kubernetes://client-credential' },
      caCertificates: { secret: 'kubernetes://client-credential-cacert' },
    });
  });

  test('a missing credential Secret: a warning names it, and the cluster answers 503 rather than going out in plaintext', async () => {
    assert.ok(
      warnings.some((w) => w.includes('outbound|80||missing.example.com') && w.includes('credentialName no-such-secret: Secret default/no-such-secret not found')),
      warnings.join('\n'),
    );
    const r = await get('missing.example.com', '/');
    assert.equal(r.status, 503);
  });
});
