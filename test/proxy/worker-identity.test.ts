/**
 * `skiff proxy --concurrency 2` with a workload identity: the primary asks the control plane's CA
 * once and hands the certificate to both workers, so a STRICT inbound listener served by either
 * worker presents the workload's SPIFFE id and accepts a mesh client, and the first worker's
 * `/certs` shows it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { createPushServer } from '../../src/controlplane/push/server.js';
import type { PushServer } from '../../src/controlplane/push/server.js';
import { BootstrapTokenAuthenticator, MeshCa, WorkloadCertificates } from '../../src/controlplane/ca/index.js';
import { newKeyAndCsr } from '../../src/proxy/identity/csr.js';
import { skiffBin, stopProcess } from '../helpers/cli.js';
import { cluster, echo, eventually, forward, httpListener, request, routeConfig, snapshot, startBackend } from './helpers.js';
import type { Backend } from './helpers.js';
import { Disposer } from '../helpers/disposer.js';

const TOKEN = 'w'.repeat(43);

describe('skiff proxy --concurrency 2 with a workload identity', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-worker-identity-'));
  let backend: Backend;
  let server: PushServer;
  let ca: MeshCa;
  let proc: ChildProcess | undefined;
  let stderr = '';

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    disposer.add(dir, (d) => rmSync(d, { recursive: true, force: true }));
    backend = disposer.add(await startBackend(echo('app')), (r) => r.close());
    ca = await MeshCa.selfSigned(dir, 'cluster.local');
    const certificates = new WorkloadCertificates({
      ca,
      authenticator: new BootstrapTokenAuthenticator((t) => (t === TOKEN ? { namespace: 'foo', serviceAccount: 'httpbin' } : undefined)),
      trustDomain: () => 'cluster.local',
      ttlMs: 3_600_000,
    });
    server = createPushServer({
      debounceMs: 20,
      snapshotFor: (p) =>
        snapshot({
          node: { id: p.id, kind: p.node.kind },
          listeners: [httpListener('inbound', 'in', { direction: 'inbound', filterChains: [{ name: 'mtls', transport: { mode: 'STRICT', tls: { mode: 'ISTIO_MUTUAL' } } }] })],
          routes: [routeConfig('in', [{ name: 'all', domains: ['*'], routes: [forward('a', 'app')] }])],
          clusters: [cluster('app', [backend.port])],
        }),
      certificates: (p, req) => certificates.issue({ node: p.node, ...(req.credential !== undefined ? { credential: req.credential } : {}) }, req.csr),
    });
    disposer.add(server, (s) => s.close());
    await server.listen(0);
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
    proc = spawn(process.execPath, [skiffBin, 'proxy', '--control-plane', server.url!, '--id', 'httpbin-1.foo', '--credential-file', tokenFile, '--concurrency', '2', '--admin-port', '0', '--health-port', '0', '--health-address', '127.0.0.1', '--drain-ms', '100'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    disposer.add(proc, (c) => stopProcess(c, { signal: 'SIGKILL' }));
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  }));

  after(() => disposer.drain());

  test('both workers present the workload certificate and accept mesh clients', async () => {
    await eventually(() => server.status().some((s) => s.id === 'httpbin-1.foo' && s.state === 'SYNCED'), 20_000, 'the proxy to sync');
    await eventually(() => /listeners: inbound=127\.0\.0\.1:\d+/.test(stderr), 10_000, 'the listener');
    const port = Number(/inbound=127\.0\.0\.1:(\d+)/.exec(stderr)![1]);
    // A client of the same mesh: a certificate from the same CA.
    const { csr, privateKey } = await newKeyAndCsr(undefined);
    const issued = await ca.sign(csr, { namespace: 'foo', serviceAccount: 'curl' }, 'cluster.local', 3_600_000);
    const peers = new Set<string>();
    // Connections spread over the workers (node:cluster hands them out in turn).
    await eventually(
      async () => {
        const served = await new Promise<string>((resolve) => {
          const s = tls.connect({ port, host: '127.0.0.1', cert: issued.certChain.join(''), key: privateKey, ca: issued.rootCert, checkServerIdentity: () => undefined, ALPNProtocols: ['http/1.1'] });
          s.on('secureConnect', () => {
            peers.add(s.getPeerCertificate().subjectaltname ?? '');
            s.end('GET / HTTP/1.1\r\nHost: httpbin\r\nConnection: close\r\n\r\n');
          });
          let got = '';
          s.on('data', (c: Buffer) => (got += c.toString()));
          s.on('error', () => resolve('error'));
          s.on('close', () => resolve(got.split('\r\n')[0]));
        });
        return served === 'HTTP/1.1 200 OK';
      },
      20_000,
      'an mTLS request',
    );
    for (let i = 0; i < 6; i++) {
      const s = tls.connect({ port, host: '127.0.0.1', cert: issued.certChain.join(''), key: privateKey, ca: issued.rootCert, checkServerIdentity: () => undefined });
      await new Promise<void>((resolve, reject) => {
        s.once('secureConnect', () => {
          peers.add(s.getPeerCertificate().subjectaltname ?? '');
          s.destroy();
          resolve();
        });
        s.once('error', reject);
      });
    }
    assert.deepEqual([...peers], ['URI:spiffe://cluster.local/ns/foo/sa/httpbin']);
    const st = server.status().find((s) => s.id === 'httpbin-1.foo')!;
    const certs = JSON.parse((await request(Number(new URL(st.adminUrl!).port), '/certs')).body) as { identity: boolean; secrets: unknown[] };
    assert.equal(certs.identity, true);
    assert.ok(certs.secrets.length > 0, 'the first worker shows the certificate');
    assert.match(stderr, /workload certificate installed: spiffe:\/\/cluster\.local\/ns\/foo\/sa\/httpbin/);
  });
});
