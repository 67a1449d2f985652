/**
 * The mesh CA: a self-signed root created once in the state directory and reused, Istio's own
 * cacerts test set plugged in, workload certificates with the SPIFFE id as their only SAN, and
 * real mutual TLS between two workloads holding such certificates.
 */
import { strict as assert } from 'node:assert';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { CaError, MeshCa, caDir } from '../../../src/controlplane/ca/index.js';
import { newKeyAndCsr } from '../../../src/proxy/identity/csr.js';
import { istioSample, requireIstioSamples, skipWithoutIstioSamples } from '../../helpers/shared.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'skiff-ca-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const FOO_CURL = { namespace: 'foo', serviceAccount: 'curl' };

function uriSans(pem: string): string[] {
  const alt = new X509Certificate(pem).subjectAltName ?? '';
  return alt.split(', ').filter((n) => n !== '');
}

describe('self-signed mesh root', () => {
  it('is created in the state directory with its key readable by the user only, and reused by the next skiffd', async () => {
    const stateDir = tempDir();
    const first = await MeshCa.selfSigned(stateDir, 'cluster.local');
    assert.match(first.source, /self-signed root in .*\(new\)/);
    assert.equal(statSync(join(caDir(stateDir), 'root-key.pem')).mode & 0o777, 0o600);
    const root = new X509Certificate(first.rootCert);
    assert.equal(root.ca, true);
    assert.equal(root.subject, 'O=cluster.local');
    const again = await MeshCa.selfSigned(stateDir, 'cluster.local');
    assert.equal(again.rootCert, first.rootCert, 'the second start trusts the same root');
    assert.doesNotMatch(again.source, /\(new\)/);
    // A certificate signed after the restart verifies against the root of the first start.
    const { csr } = await newKeyAndCsr(undefined);
    const issued = await again.sign(csr, FOO_CURL, 'cluster.local', 60_000);
    assert.equal(new X509Certificate(issued.certChain[0]).verify(root.publicKey), true);
  });

  it('signs a workload certificate whose only SAN is the SPIFFE id of the identity it was given, not of the request', async () => {
    const ca = await MeshCa.selfSigned(tempDir(), 'cluster.local');
    // The request claims another identity: the CA signs for the authenticated one only.
    const { csr, privateKey } = await newKeyAndCsr('spiffe://cluster.local/ns/istio-system/sa/admin');
    const before = Date.now();
    const issued = await ca.sign(csr, FOO_CURL, 'example.org', 3_600_000);
    const leaf = new X509Certificate(issued.certChain[0]);
    assert.deepEqual(uriSans(issued.certChain[0]), ['URI:spiffe://example.org/ns/foo/sa/curl']);
    assert.equal(issued.spiffeId, 'spiffe://example.org/ns/foo/sa/curl');
    assert.equal(leaf.subject ?? '', '', 'Istio workload certificates have an empty subject');
    assert.equal(leaf.ca, false);
    assert.equal(leaf.checkPrivateKey(createPrivateKey(privateKey)), true, 'the certificate is for the key of the request');
    assert.equal(issued.serial, leaf.serialNumber.toLowerCase());
    const lifetime = Date.parse(leaf.validTo) - before;
    assert.ok(lifetime > 3_590_000 && lifetime <= 3_601_000, `valid for the lifetime asked (${lifetime} ms)`);
    assert.deepEqual(leaf.keyUsage?.sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'], 'usable as server and client');
    assert.equal(issued.certChain.length, 1, 'a root signs directly: the chain is the leaf alone');
  });

  it('refuses a request whose signature does not match the key it carries, and text that is no request', async () => {
    const ca = await MeshCa.selfSigned(tempDir(), 'cluster.local');
    const { csr } = await newKeyAndCsr(undefined);
    const der = Buffer.from(csr.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    der[der.length - 5] ^= 0xff; // inside the signature
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    await assert.rejects(ca.sign(tampered, FOO_CURL, 'cluster.local', 60_000), (err: Error) => err instanceof CaError && /not signed by the key it carries|not a PEM PKCS #10/.test(err.message));
    await assert.rejects(ca.sign('hello', FOO_CURL, 'cluster.local', 60_000), /not a PEM PKCS #10 request/);
  });
});

describe("plugged-in CA from Istio's cacerts", { skip: skipWithoutIstioSamples }, () => {
  it("signs with Istio's test intermediate: the chain carries it, the root verifies the chain", async () => {
    const certs = join(requireIstioSamples(), 'certs');
    const ca = await MeshCa.fromCaCerts(certs);
    assert.match(ca.source, /^cacerts in /);
    const { csr } = await newKeyAndCsr(undefined);
    const issued = await ca.sign(csr, { namespace: 'bar', serviceAccount: 'httpbin' }, 'cluster.local', 60_000);
    const [leafPem, intermediatePem] = issued.certChain;
    assert.equal(issued.certChain.length, 2, 'leaf and Istio CA');
    const leaf = new X509Certificate(leafPem);
    const intermediate = new X509Certificate(intermediatePem);
    const root = new X509Certificate(issued.rootCert);
    assert.match(intermediate.subject, /CN=Istio CA/);
    assert.equal(leaf.checkIssued(intermediate), true);
    assert.equal(leaf.verify(intermediate.publicKey), true);
    assert.equal(intermediate.verify(root.publicKey), true);
    assert.match(root.subject, /CN=Root CA/);
    assert.deepEqual(uriSans(leafPem), ['URI:spiffe://cluster.local/ns/bar/sa/httpbin']);
  });

  it('names the missing or mismatched file', async () => {
    const dir = tempDir();
    cpSync(istioSample('certs'), dir, { recursive: true });
    rmSync(join(dir, 'ca-key.pem'));
    await assert.rejects(MeshCa.fromCaCerts(dir), (err: Error) => err instanceof CaError && err.message.includes('has no ca-key.pem'));
    // Another CA's key with Istio's ca-cert.pem.
    cpSync(istioSample('certs', 'ca-key-alt.pem'), join(dir, 'ca-key.pem'));
    await assert.rejects(MeshCa.fromCaCerts(dir), /ca-key\.pem is not the key of .*ca-cert\.pem/);
    writeFileSync(join(dir, 'ca-key.pem'), 'not a key');
    await assert.rejects(MeshCa.fromCaCerts(dir), /ca-key\.pem is not a PEM private key/);
  });
});

describe('mutual TLS with workload certificates', () => {
  it('two workloads authenticate each other and each reads the other’s SPIFFE id; a wrong id is refused', async () => {
    const ca = await MeshCa.selfSigned(tempDir(), 'cluster.local');
    const server = await newKeyAndCsr(undefined);
    const client = await newKeyAndCsr(undefined);
    const serverCert = await ca.sign(server.csr, { namespace: 'foo', serviceAccount: 'httpbin' }, 'cluster.local', 60_000);
    const clientCert = await ca.sign(client.csr, FOO_CURL, 'cluster.local', 60_000);
    const seen: string[] = [];
    const srv = tls.createServer({ key: server.privateKey, cert: serverCert.certChain.join(''), ca: serverCert.rootCert, requestCert: true, rejectUnauthorized: true }, (socket) => {
      seen.push(socket.getPeerCertificate().subjectaltname ?? '');
      socket.end('ok');
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as AddressInfo).port;
    const connect = (want: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const s = tls.connect({
          port,
          host: '127.0.0.1',
          key: client.privateKey,
          cert: clientCert.certChain.join(''),
          ca: clientCert.rootCert,
          checkServerIdentity: (_host, cert) => (cert.subjectaltname === `URI:${want}` ? undefined : new Error(`peer is ${cert.subjectaltname}`)),
        });
        let body = '';
        s.setEncoding('utf8');
        s.on('data', (d: string) => (body += d));
        s.on('end', () => resolve(body));
        s.on('error', reject);
      });
    try {
      assert.equal(await connect('spiffe://cluster.local/ns/foo/sa/httpbin'), 'ok');
      assert.deepEqual(seen, ['URI:spiffe://cluster.local/ns/foo/sa/curl']);
      await assert.rejects(connect('spiffe://cluster.local/ns/bar/sa/httpbin'), /peer is URI:spiffe:\/\/cluster.local\/ns\/foo\/sa\/httpbin/);
    } finally {
      srv.close();
    }
  });
});
