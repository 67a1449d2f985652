/**
 * Istio's "Secure Gateways" task on the local mesh: certificates made with openssl exactly as the
 * page makes them (an `example.com` root and an `httpbin.example.com` server certificate, a second
 * independent set for the rotation), the `kubernetes.io/tls` Secret `httpbin-credential` in
 * istio-system, and the page's Gateway `mygateway` and VirtualService. What the page promises:
 *
 * - `curl -HHost:httpbin.example.com --resolve httpbin.example.com:$SECURE_INGRESS_PORT:127.0.0.1
 *   --cacert example_certs1/example.com.crt https://httpbin.example.com:$SECURE_INGRESS_PORT/status/418`
 *   → `HTTP/2 418` and the teapot (here with Node's HTTP/2 client, which sends what curl sends:
 *   the SNI, `h2` by ALPN, the Host);
 * - replacing the Secret with the second set switches the served certificate, no restart: the new
 *   root verifies it, the old one no longer does, and a connection open across an in-place
 *   replacement keeps being served;
 * - two hosts on 443, each with its own Secret, each get their certificate by SNI;
 * - MUTUAL (a generic Secret with `tls.crt`, `tls.key`, `ca.crt`) refuses a client without a
 *   certificate and serves one signed by `ca.crt`.
 *
 * Runs with Istio's own httpbin manifest when ../shared has it, else samples/httpbin.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { allocatePorts } from '../../src/runtime/ports.js';
import { repoRoot } from '../helpers/cli.js';
import { istioSample, skipWithoutIstioSamples } from '../helpers/shared.js';
import { tool } from '../helpers/tools.js';
import { startMesh, type Mesh } from './harness.js';

const openssl = tool('openssl');

const GATEWAY = (mode: 'SIMPLE' | 'MUTUAL'): string => `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: mygateway
spec:
  selector:
    istio: ingressgateway # use istio default ingress gateway
  servers:
  - port:
      number: 443
      name: https
      protocol: HTTPS
    tls:
      mode: ${mode}
      credentialName: httpbin-credential # must be the same as secret
    hosts:
    - httpbin.example.com
`;

const VIRTUAL_SERVICE = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: httpbin
spec:
  hosts:
  - "httpbin.example.com"
  gateways:
  - mygateway
  http:
  - match:
    - uri:
        prefix: /status
    - uri:
        prefix: /delay
    route:
    - destination:
        port:
          number: 8000
        host: httpbin
`;

/** The page's two-server Gateway; helloworld.example.com is routed to httpbin here (the helloworld sample is not among the mapped images). */
const TWO_HOSTS = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: mygateway
spec:
  selector:
    istio: ingressgateway # use istio default ingress gateway
  servers:
  - port:
      number: 443
      name: https-httpbin
      protocol: HTTPS
    tls:
      mode: SIMPLE
      credentialName: httpbin-credential
    hosts:
    - httpbin.example.com
  - port:
      number: 443
      name: https-helloworld
      protocol: HTTPS
    tls:
      mode: SIMPLE
      credentialName: helloworld-credential
    hosts:
    - helloworld.example.com
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: helloworld
spec:
  hosts:
  - helloworld.example.com
  gateways:
  - mygateway
  http:
  - match:
    - uri:
        prefix: /status
    route:
    - destination:
        host: httpbin
        port:
          number: 8000
`;

/** The page's openssl commands, run in `dir`. */
function sh(dir: string, args: string[]): void {
  execFileSync(openssl.require(), args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** `example_certsN/`: the root `example.com` and server certificates signed by it, as the page makes them. */
function exampleCerts(dir: string, set: string, hosts: string[]): void {
  execFileSync('mkdir', ['-p', join(dir, set)]);
  sh(dir, ['req', '-x509', '-sha256', '-nodes', '-days', '365', '-newkey', 'rsa:2048', '-subj', '/O=example Inc./CN=example.com', '-keyout', `${set}/example.com.key`, '-out', `${set}/example.com.crt`]);
  for (const host of hosts) {
    const org = host === 'client.example.com' ? 'client organization' : `${host.split('.')[0]} organization`;
    sh(dir, ['req', '-out', `${set}/${host}.csr`, '-newkey', 'rsa:2048', '-nodes', '-keyout', `${set}/${host}.key`, '-subj', `/CN=${host}/O=${org}`]);
    sh(dir, ['x509', '-req', '-sha256', '-days', '365', '-CA', `${set}/example.com.crt`, '-CAkey', `${set}/example.com.key`, '-set_serial', String(hosts.indexOf(host)), '-in', `${set}/${host}.csr`, '-out', `${set}/${host}.crt`]);
  }
}

/** `kubectl create -n istio-system secret tls|generic NAME --from-file=…` as a manifest `skiff apply` takes. */
function secretYaml(name: string, type: string, files: Record<string, string>): string {
  const data = Object.fromEntries(Object.entries(files).map(([key, path]) => [key, readFileSync(path).toString('base64')]));
  return `${JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'istio-system' }, type, data })}\n`;
}

interface Answer {
  status: number;
  body: string;
  alpn: string | false;
  /** The served certificate's subject CN and issuer's O. */
  cn: string;
}

/** An HTTP/2 session as curl --resolve opens it: to 127.0.0.1, the name as SNI and authority, `h2` offered by ALPN. */
function openSession(port: number, host: string, opts: { cacert: string; cert?: string; key?: string }): http2.ClientHttp2Session {
  return http2.connect(`https://${host}:${port}`, {
    createConnection: () =>
      tls.connect({ host: '127.0.0.1', port, servername: host, ALPNProtocols: ['h2', 'http/1.1'], ca: readFileSync(opts.cacert), ...(opts.cert === undefined ? {} : { cert: readFileSync(opts.cert), key: readFileSync(opts.key!) }) }),
  });
}

/** One GET on an open session. */
function get(session: http2.ClientHttp2Session, host: string, port: number, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    session.once('error', reject);
    const req = session.request({ ':path': path, ':authority': `${host}:${port}` });
    req.on('error', reject);
    let status = 0;
    let body = '';
    req.on('response', (headers) => (status = Number(headers[':status'])));
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      session.off('error', reject);
      const socket = session.socket as tls.TLSSocket;
      resolve({ status, body, alpn: socket.alpnProtocol ?? false, cn: String(socket.getPeerCertificate().subject.CN) });
    });
    req.end();
  });
}

/** `curl --resolve host:port:127.0.0.1 --cacert … https://host:port/path`: a session for one request. */
async function curlHttps(port: number, host: string, path: string, opts: { cacert: string; cert?: string; key?: string }): Promise<Answer> {
  const session = openSession(port, host, opts);
  try {
    return await get(session, host, port, path);
  } finally {
    session.close();
  }
}

const MESH = skipWithoutIstioSamples === false ? [istioSample('httpbin', 'httpbin.yaml')] : [join(repoRoot, 'samples', 'httpbin', 'httpbin.yaml')];

describe("Istio's Secure Gateways task", { skip: openssl.skip, timeout: 240_000 }, () => {
  let mesh: Mesh | undefined;
  let dir = '';
  let port = 0;
  const started = (): Mesh => mesh ?? assert.fail('the mesh did not start');
  const certs = (p: string): string => join(dir, p);

  before(async () => {
    openssl.require();
    dir = mkdtempSync(join(tmpdir(), 'skiff-secure-gw-'));
    exampleCerts(dir, 'example_certs1', ['httpbin.example.com', 'helloworld.example.com', 'client.example.com']);
    exampleCerts(dir, 'example_certs2', ['httpbin.example.com']);
    [port] = await allocatePorts(1);
    mesh = await startMesh({ files: MESH, gatewayPorts: { 443: port }, ...(skipWithoutIstioSamples === false ? { images: join(repoRoot, 'samples', 'images.yaml') } : {}) });
    await mesh.apply(secretYaml('httpbin-credential', 'kubernetes.io/tls', { 'tls.key': certs('example_certs1/httpbin.example.com.key'), 'tls.crt': certs('example_certs1/httpbin.example.com.crt') }));
    await mesh.apply(`${GATEWAY('SIMPLE')}---\n${VIRTUAL_SERVICE}`);
  });

  after(async () => {
    await mesh?.stop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  test('curl --resolve httpbin.example.com --cacert example_certs1/example.com.crt …/status/418 → HTTP/2 418, the teapot', async () => {
    const r = await curlHttps(port, 'httpbin.example.com', '/status/418', { cacert: certs('example_certs1/example.com.crt') });
    assert.deepEqual(r, { status: 418, body: "I'm a teapot!", alpn: 'h2', cn: 'httpbin.example.com' });
  });

  test('skiff proxy-config secret on the gateway lists kubernetes://httpbin-credential by serial, no PEM of it', async () => {
    const status = await started().skiff(['proxy-status']);
    const gateway = /^(istio-ingressgateway[^.\s]*)/m.exec(status.stdout)?.[1];
    assert.ok(gateway !== undefined, status.stdout);
    const table = await started().skiff(['proxy-config', 'secret', gateway, '-n', 'istio-system']);
    assert.match(table.stdout, /^kubernetes:\/\/httpbin-credential\s+Cert Chain\s+ACTIVE\s+true\s+0+\s/m);
    const dump = await started().skiff(['proxy-config', 'listeners', gateway, '-n', 'istio-system', '-o', 'json']);
    assert.match(dump.stdout, /"secret": "kubernetes:\/\/httpbin-credential"/);
    assert.doesNotMatch(dump.stdout, /BEGIN/);
  });

  test('the Secret deleted and created again from example_certs2 (the page’s steps): the new root verifies the served certificate, the old one no longer does', async () => {
    await started().delete(secretYaml('httpbin-credential', 'kubernetes.io/tls', { 'tls.key': certs('example_certs1/httpbin.example.com.key'), 'tls.crt': certs('example_certs1/httpbin.example.com.crt') }));
    await started().apply(secretYaml('httpbin-credential', 'kubernetes.io/tls', { 'tls.key': certs('example_certs2/httpbin.example.com.key'), 'tls.crt': certs('example_certs2/httpbin.example.com.crt') }));
    const r = await curlHttps(port, 'httpbin.example.com', '/status/418', { cacert: certs('example_certs2/example.com.crt') });
    assert.equal(r.status, 418);
    await assert.rejects(curlHttps(port, 'httpbin.example.com', '/status/418', { cacert: certs('example_certs1/example.com.crt') }), /self-signed|unable to verify|certificate/i);
  });

  test('the Secret replaced in place (apply): new handshakes get the new certificate, a connection open across the change keeps being served — no restart', async () => {
    const open = openSession(port, 'httpbin.example.com', { cacert: certs('example_certs2/example.com.crt') });
    try {
      assert.equal((await get(open, 'httpbin.example.com', port, '/status/418')).status, 418);
      await started().apply(secretYaml('httpbin-credential', 'kubernetes.io/tls', { 'tls.key': certs('example_certs1/httpbin.example.com.key'), 'tls.crt': certs('example_certs1/httpbin.example.com.crt') }));
      assert.equal((await curlHttps(port, 'httpbin.example.com', '/status/418', { cacert: certs('example_certs1/example.com.crt') })).status, 418);
      await assert.rejects(curlHttps(port, 'httpbin.example.com', '/status/418', { cacert: certs('example_certs2/example.com.crt') }), /self-signed|unable to verify|certificate/i);
      assert.equal((await get(open, 'httpbin.example.com', port, '/status/418')).status, 418, 'the connection made before the change');
    } finally {
      open.close();
    }
  });

  test('two hosts on 443 with two Secrets: each SNI name gets its own certificate', async () => {
    await started().apply(secretYaml('helloworld-credential', 'kubernetes.io/tls', { 'tls.key': certs('example_certs1/helloworld.example.com.key'), 'tls.crt': certs('example_certs1/helloworld.example.com.crt') }));
    await started().apply(TWO_HOSTS);
    const ca = { cacert: certs('example_certs1/example.com.crt') };
    const hello = await curlHttps(port, 'helloworld.example.com', '/status/200', ca);
    assert.deepEqual({ status: hello.status, cn: hello.cn }, { status: 200, cn: 'helloworld.example.com' });
    const httpbin = await curlHttps(port, 'httpbin.example.com', '/status/418', ca);
    assert.deepEqual({ status: httpbin.status, cn: httpbin.cn }, { status: 418, cn: 'httpbin.example.com' });
  });

  test('MUTUAL: no client certificate → the handshake fails; one signed by the Secret’s ca.crt → 418', async () => {
    await started().delete(TWO_HOSTS);
    await started().apply(
      secretYaml('httpbin-credential', 'Opaque', {
        'tls.key': certs('example_certs1/httpbin.example.com.key'),
        'tls.crt': certs('example_certs1/httpbin.example.com.crt'),
        'ca.crt': certs('example_certs1/example.com.crt'),
      }),
    );
    await started().apply(`${GATEWAY('MUTUAL')}---\n${VIRTUAL_SERVICE}`);
    const ca = { cacert: certs('example_certs1/example.com.crt') };
    await assert.rejects(curlHttps(port, 'httpbin.example.com', '/status/418', ca));
    const r = await curlHttps(port, 'httpbin.example.com', '/status/418', { ...ca, cert: certs('example_certs1/client.example.com.crt'), key: certs('example_certs1/client.example.com.key') });
    assert.equal(r.status, 418);
    assert.equal(r.body, "I'm a teapot!");
  });
});
