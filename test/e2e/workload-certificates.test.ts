/**
 * Workload certificates on a real local mesh: every sidecar and the ingress gateway holds a
 * certificate for its pod's service account from skiffd's CA, which `skiff proxy-config secret`
 * shows as istioctl does (`default` and `ROOTCA`, serial, validity; `-o json` with the PEM), and a
 * short lifetime (`skiff up --workload-cert-ttl`) makes the proxies rotate it: a new serial, the
 * same root.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { repoRoot } from '../helpers/cli.js';
import { eventually, startMesh } from './harness.js';
import type { Mesh } from './harness.js';

interface Secret {
  name: string;
  type: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  spiffeId?: string;
  pem: string;
}

describe('workload certificates', () => {
  let mesh: Mesh;
  before(async () => {
    mesh = await startMesh({
      files: [join(repoRoot, 'samples', 'httpbin', 'httpbin.yaml'), join(repoRoot, 'samples', 'curl', 'curl.yaml')],
      upArgs: ['--workload-cert-ttl', '8s'],
    });
  });
  after(async () => {
    await mesh?.stop();
  });

  async function secrets(workload: string, namespace = 'default'): Promise<Secret[]> {
    const out = await mesh.skiff(['proxy-config', 'secret', workload, '-n', namespace, '-o', 'json']);
    assert.equal(out.code, 0, out.stderr);
    return (JSON.parse(out.stdout) as { secrets: Secret[] }).secrets;
  }

  test('proxy-config secret lists the default certificate and the root, as istioctl does', async () => {
    const table = await mesh.skiff(['proxy-config', 'secret', 'deploy/httpbin']);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trim().split('\n');
    assert.match(lines[0], /^RESOURCE NAME\s+TYPE\s+STATUS\s+VALID CERT\s+SERIAL NUMBER\s+NOT AFTER\s+NOT BEFORE$/);
    assert.match(lines[1], /^default\s+Cert Chain\s+ACTIVE\s+true\s+[0-9a-f]+\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+\d{4}-/);
    assert.match(lines[2], /^ROOTCA\s+CA\s+ACTIVE\s+true\s+[0-9a-f]+\s+/);
    const [leaf, root] = await secrets('deploy/httpbin');
    assert.equal(leaf.spiffeId, 'spiffe://cluster.local/ns/default/sa/httpbin');
    const cert = new X509Certificate(leaf.pem);
    assert.equal(cert.subjectAltName, 'URI:spiffe://cluster.local/ns/default/sa/httpbin');
    assert.equal(cert.serialNumber.toLowerCase(), leaf.serialNumber);
    assert.equal(cert.verify(new X509Certificate(root.pem).publicKey), true, 'the chain verifies against ROOTCA');
    assert.doesNotMatch(JSON.stringify(await secrets('deploy/httpbin')), /PRIVATE KEY/, 'the key never leaves the proxy');
    const [curl] = await secrets('deploy/curl');
    assert.equal(curl.spiffeId, 'spiffe://cluster.local/ns/default/sa/curl');
  });

  test('the ingress gateway has the identity of its service account', async () => {
    const status = await mesh.skiff(['proxy-status']);
    const gateway = /^(istio-ingressgateway[^.\s]*)/m.exec(status.stdout)?.[1];
    assert.ok(gateway !== undefined, status.stdout);
    const [leaf] = await secrets(gateway, 'istio-system');
    assert.equal(leaf.spiffeId, 'spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account');
  });

  test('a short lifetime makes the proxy rotate: a new serial under the same root', async () => {
    const [first, root] = await secrets('deploy/httpbin');
    let latest = first;
    // With 8 s certificates, the next one is due about 4 s after the first.
    await eventually(async () => {
      latest = (await secrets('deploy/httpbin'))[0]!;
      return latest.serialNumber !== first.serialNumber;
    }, 'a rotated certificate');
    assert.ok(Date.parse(latest.notAfter) > Date.parse(first.notAfter));
    assert.equal((await secrets('deploy/httpbin'))[1].serialNumber, root.serialNumber);
  });
});
