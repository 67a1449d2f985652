/**
 * Workload certificates over the push stream: a proxy's own control client asks skiffd's CA with
 * its pod's bootstrap token and gets a certificate for the identity the token proves (not the one
 * its hello claims); no token or a wrong one gets none. The proxy's identity renews its
 * certificate halfway through its life, and a TLS server fed with each one keeps its live
 * connections across the rotation while new handshakes see the new serial.
 */
import { strict as assert } from 'node:assert';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, describe, it } from 'node:test';
import { createPushServer } from '../../../src/controlplane/push/server.js';
import type { PushServer } from '../../../src/controlplane/push/server.js';
import { BootstrapTokenAuthenticator, MeshCa, WorkloadCertificates } from '../../../src/controlplane/ca/index.js';
import { CertificateRefusedError, ControlClient } from '../../../src/proxy/control-client.js';
import { WorkloadIdentity } from '../../../src/proxy/identity/workload-identity.js';
import type { IdentityState, InstalledCertificate } from '../../../src/proxy/identity/workload-identity.js';
import { newKeyAndCsr } from '../../../src/proxy/identity/csr.js';
import type { NodeConfig, ProxySnapshot } from '../../../src/snapshot/index.js';

const dir = mkdtempSync(join(tmpdir(), 'skiff-certs-'));
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

const TOKEN = 'a'.repeat(43);
/** The runtime's answer: this token was handed to a pod of foo running as service account curl. */
const tokens = new Map([[TOKEN, { namespace: 'foo', serviceAccount: 'curl' }]]);

function emptySnapshot(node: NodeConfig): ProxySnapshot {
  return { version: 'v', node, listeners: [], routes: [], clusters: [] };
}

async function startServer(ttlMs: number, withCa = true): Promise<PushServer> {
  const ca = await MeshCa.selfSigned(dir, 'cluster.local');
  const certificates = new WorkloadCertificates({ ca, authenticator: new BootstrapTokenAuthenticator((t) => tokens.get(t)), trustDomain: () => 'cluster.local', ttlMs });
  const server = createPushServer({
    snapshotFor: (p) => emptySnapshot(p.node),
    ...(withCa ? { certificates: (proxy, req) => certificates.issue({ node: proxy.node, ...(req.credential !== undefined ? { credential: req.credential } : {}) }, req.csr) } : {}),
  });
  await server.listen(0);
  cleanups.push(() => server.close());
  return server;
}

function client(server: PushServer, claims = { namespace: 'istio-system', serviceAccount: 'admin' }): ControlClient {
  // The hello claims another workload: the CA must not believe it.
  const node: NodeConfig = { id: 'curl-1.foo', kind: 'sidecar', workload: { name: 'curl-1', namespace: claims.namespace, labels: {}, serviceAccount: claims.serviceAccount } };
  const c = new ControlClient({ url: server.url!, node, target: { applySnapshot: (s) => Promise.resolve({ version: (s as ProxySnapshot).version }) } });
  c.start();
  cleanups.push(() => c.close());
  return c;
}

describe('certificate requests on the push stream', () => {
  it('signs for the pod the bootstrap token was handed to, whatever the hello claims', async () => {
    const server = await startServer(3_600_000);
    const c = client(server);
    const { csr } = await newKeyAndCsr(undefined);
    const signed = await c.requestCertificate(csr, TOKEN);
    const leaf = new X509Certificate(signed.certChain[0]);
    assert.equal(leaf.subjectAltName, 'URI:spiffe://cluster.local/ns/foo/sa/curl');
    assert.equal(leaf.verify(new X509Certificate(signed.rootCert).publicKey), true);
  });

  it('refuses a request without a credential, with a credential no pod was given, and when skiffd runs no CA', async () => {
    const server = await startServer(3_600_000);
    const c = client(server);
    const { csr } = await newKeyAndCsr(undefined);
    await assert.rejects(c.requestCertificate(csr, undefined), (err: Error) => err instanceof CertificateRefusedError && /carries no credential/.test(err.reason));
    await assert.rejects(c.requestCertificate(csr, 'b'.repeat(43)), (err: Error) => err instanceof CertificateRefusedError && /not a bootstrap token of any running pod/.test(err.reason));
    const noCa = await startServer(3_600_000, false);
    await assert.rejects(client(noCa).requestCertificate(csr, TOKEN), /runs no certificate authority/);
  });

  it('a proxy whose token file is wrong gets no identity and says why', async () => {
    const server = await startServer(3_600_000);
    const file = join(dir, 'wrong.token');
    writeFileSync(file, 'c'.repeat(43), { mode: 0o600 });
    const lines: string[] = [];
    const identity = new WorkloadIdentity({ signer: client(server), credentialFile: file, log: (l) => lines.push(l), retryMinMs: 50, retryMaxMs: 100 });
    cleanups.push(() => identity.close());
    const failed = new Promise<string>((resolve) => identity.once('failed', resolve));
    identity.start();
    assert.match(await failed, /not a bootstrap token of any running pod/);
    assert.equal(identity.current, null);
    assert.match(lines.join('\n'), /cannot get a workload certificate: .*not a bootstrap token/);
  });
});

describe('rotation', () => {
  it('renews halfway through the lifetime; live TLS connections stay up and new handshakes see the new certificate', async () => {
    const server = await startServer(4_000);
    const file = join(dir, 'pod.token');
    writeFileSync(file, `${TOKEN}\n`, { mode: 0o600 });
    const installs: IdentityState[] = [];
    // A TLS server whose context follows the identity, as the proxy's inbound listener does.
    let srv: tls.Server | null = null;
    const sink = {
      install(cert: InstalledCertificate): void {
        const options = { key: cert.privateKey, cert: cert.certChain, ca: cert.roots, requestCert: true };
        if (srv === null) {
          srv = tls.createServer({ ...options, rejectUnauthorized: true }, (socket) => socket.on('data', (d: Buffer) => socket.write(d)));
        } else {
          srv.setSecureContext(options);
        }
      },
    };
    const identity = new WorkloadIdentity({ signer: client(server), credentialFile: file, sinks: [sink] });
    cleanups.push(() => identity.close());
    identity.on('installed', (s) => installs.push(s));
    identity.start();
    await identity.ready();
    const tlsServer = srv!;
    await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r));
    cleanups.push(() => void tlsServer.close());
    const port = (tlsServer.address() as AddressInfo).port;
    const connect = (): Promise<tls.TLSSocket> =>
      new Promise((resolve, reject) => {
        const cur = identity.current!;
        const s = tls.connect({
          port,
          host: '127.0.0.1',
          ca: cur.rootCert,
          checkServerIdentity: (_h, c) => (c.subjectaltname === 'URI:spiffe://cluster.local/ns/foo/sa/curl' ? undefined : new Error('wrong peer')),
          // A client presenting the workload certificate too (the server demands one).
          cert: cur.certChain.join(''),
          key: installedKey,
        });
        s.once('secureConnect', () => resolve(s));
        s.once('error', reject);
      });
    let installedKey = '';
    identity.addSink({ install: (c) => (installedKey = c.privateKey) });
    const live = await connect();
    cleanups.push(() => void live.destroy());
    const firstSerial = live.getPeerCertificate().serialNumber.toLowerCase();
    assert.equal(firstSerial, installs[0].serial);
    // Wait for the rotation: due about 2 s after the first install.
    await new Promise<void>((resolve) => identity.once('installed', () => resolve()));
    const echo = new Promise<string>((resolve) => live.once('data', (d: Buffer) => resolve(d.toString())));
    live.write('still here');
    assert.equal(await echo, 'still here', 'the connection made before the rotation still carries data');
    const fresh = await connect();
    const secondSerial = fresh.getPeerCertificate().serialNumber.toLowerCase();
    fresh.destroy();
    assert.notEqual(secondSerial, firstSerial);
    assert.equal(secondSerial, identity.current!.serial);
    const [a, b] = installs;
    assert.ok(b.installedAt.getTime() - a.installedAt.getTime() >= 1500, 'renewed near the middle of the 4 s lifetime, not at once');
    assert.ok(b.installedAt < a.notAfter, 'renewed before the old certificate expired');
  });
});
