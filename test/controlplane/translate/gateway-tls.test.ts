/**
 * Istio's "Ingress gateway without TLS termination": a Gateway server in `tls.mode: PASSTHROUGH`
 * and a VirtualService `tls` rule on SNI. The translated snapshot runs on a real proxy; a TLS
 * client naming each host in its SNI reaches the backend its rule names, through the gateway,
 * without the gateway terminating TLS (the backend's own certificate is what the client sees).
 * A SIMPLE server on the same port terminates the names it lists, beside them.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { translate } from '../../../src/controlplane/translate/index.js';
import type { GatewayTarget } from '../../../src/controlplane/translate/index.js';
import { SkiffProxy } from '../../../src/proxy/proxy.js';
import type { RegistrySnapshot, WorkloadInstance } from '../../../src/registry/types.js';
import { deadPort } from '../../proxy/helpers.js';
import { tool } from '../../helpers/tools.js';
import { loadYaml } from './cases.js';
import { Disposer } from '../../helpers/disposer.js';

const CONFIG = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: mygateway }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 443, name: https, protocol: HTTPS }
    tls: { mode: PASSTHROUGH }
    hosts: [nginx.example.com, "*.apps.example.com"]
  - port: { number: 443, name: https-terminated, protocol: HTTPS }
    tls: { mode: SIMPLE, credentialName: secure-credential }
    hosts: [secure.example.com]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: nginx }
spec:
  hosts: [nginx.example.com]
  gateways: [mygateway]
  tls:
  - match:
    - port: 443
      sniHosts: [nginx.example.com]
    route:
    - destination: { host: my-nginx, port: { number: 443 } }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: apps }
spec:
  hosts: ["*.apps.example.com"]
  gateways: [mygateway]
  tls:
  - match:
    - sniHosts: [blue.apps.example.com]
    route:
    - destination: { host: blue, port: { number: 8443 } }
`;

const openssl = tool('openssl');

/** A self-signed certificate for `cn`, made by openssl in a temporary directory. */
function selfSigned(cn: string): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-tls-'));
  try {
    execFileSync(openssl.require(), ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=${cn}`, '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A TLS server answering each connection with its name, then closing. */
async function startTlsBackend(name: string): Promise<{ port: number; server: tls.Server }> {
  const server = tls.createServer(selfSigned(name), (s) => s.end(`hello from ${name}`));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as { port: number }).port, server };
}

/** Connects to the gateway with `sni`; resolves with the peer certificate's CN and what the server said, or the error. */
function tlsGet(port: number, sni: string): Promise<{ cn: string; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: sni, rejectUnauthorized: false });
    let body = '';
    let cn = '';
    s.on('secureConnect', () => {
      cn = String(s.getPeerCertificate().subject.CN);
    });
    s.setEncoding('utf8').on('data', (d: string) => (body += d));
    // A connection closed before the handshake ends without secureConnect: no certificate seen.
    s.on('end', () => resolve(cn === '' ? { error: 'closed before the TLS handshake' } : { cn, body }));
    s.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
  });
}

describe('gateway TLS passthrough routed by SNI', { skip: openssl.skip }, () => {
  let proxy: SkiffProxy | undefined;
  let gatewayPort = 0;

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    const nginx = await startTlsBackend('nginx.example.com');
    const blue = await startTlsBackend('blue.apps.example.com');
    disposer.add(nginx.server, (s) => s.close());
    disposer.add(blue.server, (s) => s.close());
    const workload = (name: string, port: number, appPort: number): WorkloadInstance => ({
      name: `${name}-0`,
      namespace: 'default',
      labels: { app: name },
      serviceAccount: 'default',
      address: '127.0.0.1',
      ready: true,
      meshPorts: { [port]: appPort },
      appPorts: { [port]: appPort },
    });
    const registry: RegistrySnapshot = {
      services: [
        { name: 'my-nginx', namespace: 'default', hostname: 'my-nginx.default.svc.cluster.local', ports: [{ name: 'https', port: 443, targetPort: 443, protocol: 'TCP' }], selector: { app: 'my-nginx' } },
        { name: 'blue', namespace: 'default', hostname: 'blue.default.svc.cluster.local', ports: [{ name: 'https', port: 8443, targetPort: 8443, protocol: 'TCP' }], selector: { app: 'blue' } },
      ],
      workloads: [workload('my-nginx', 443, nginx.port), workload('blue', 8443, blue.port)],
    };
    gatewayPort = await deadPort();
    const target: GatewayTarget = {
      kind: 'gateway',
      id: 'istio-ingressgateway.istio-system',
      name: 'istio-ingressgateway',
      namespace: 'istio-system',
      labels: { istio: 'ingressgateway' },
      listenAddress: '127.0.0.1',
      portMap: { 443: gatewayPort },
    };
    proxy = disposer.add(await SkiffProxy.create({ adminPort: null, healthPort: null, drainTimeoutMs: 100 }), (p) => p.close());
    const gatewayCert = selfSigned('secure.example.com');
    const secret = loadYaml(
      'secret.yaml',
      JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'secure-credential', namespace: 'istio-system' }, type: 'kubernetes.io/tls', data: { 'tls.crt': gatewayCert.cert.toString('base64'), 'tls.key': gatewayCert.key.toString('base64') } }),
    );
    await proxy.applySnapshot(translate({ config: [...loadYaml('tls.yaml', CONFIG), ...secret], registry, proxy: target }));
  }));

  after(() => disposer.drain());

  test('the SNI a rule names reaches its backend, whose own certificate the client sees', async () => {
    assert.deepEqual(await tlsGet(gatewayPort, 'nginx.example.com'), { cn: 'nginx.example.com', body: 'hello from nginx.example.com' });
    assert.deepEqual(await tlsGet(gatewayPort, 'blue.apps.example.com'), { cn: 'blue.apps.example.com', body: 'hello from blue.apps.example.com' });
  });

  test('a SIMPLE server on the same port terminates its own SNI name with its Secret’s certificate', async () => {
    const cn = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: gatewayPort, servername: 'secure.example.com', rejectUnauthorized: false }, () => {
        resolve(String(s.getPeerCertificate().subject.CN));
        s.destroy();
      });
      s.on('error', reject);
    });
    assert.equal(cn, 'secure.example.com');
    // Passthrough names still reach their backends untouched.
    assert.deepEqual(await tlsGet(gatewayPort, 'nginx.example.com'), { cn: 'nginx.example.com', body: 'hello from nginx.example.com' });
  });

  test('an SNI no rule names is refused: the connection closes without a handshake', async () => {
    const r = await tlsGet(gatewayPort, 'other.example.com');
    assert.ok('error' in r, `expected a failed handshake, got ${JSON.stringify(r)}`);
  });
});
