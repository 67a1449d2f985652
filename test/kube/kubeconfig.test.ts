/** The kubeconfig loader: the current context's server, CA, token or token file, client certificate; in-cluster config; clear refusals. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { inClusterConnection, KubeconfigError, loadKubeconfig, resolveConnection } from '../../src/kube/kubeconfig.js';

const dir = mkdtempSync(join(tmpdir(), 'skiff-kubeconfig-'));
const b64 = (s: string): string => Buffer.from(s).toString('base64');

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const config = (user: string, extra = ''): string => `apiVersion: v1
kind: Config
current-context: dev
contexts:
- name: dev
  context: {cluster: c1, user: u1}
- name: other
  context: {cluster: c2, user: u1}
clusters:
- name: c1
  cluster:
    server: https://10.0.0.1:6443/
    certificate-authority-data: ${b64('CA-ONE')}
- name: c2
  cluster:
    server: http://127.0.0.1:8080
    certificate-authority: ca.pem
users:
- name: u1
  user:
${user}
${extra}`;

describe('kubeconfig', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("reads the current context's server and CA, and a client certificate given inline", () => {
    const p = write('inline', config(`    client-certificate-data: ${b64('CERT')}\n    client-key-data: ${b64('KEY')}`));
    const c = loadKubeconfig(p);
    assert.equal(c.server, 'https://10.0.0.1:6443');
    assert.equal(c.ca, 'CA-ONE');
    assert.equal(c.cert, 'CERT');
    assert.equal(c.key, 'KEY');
    assert.equal(c.token, undefined);
    assert.equal(c.origin, `kubeconfig ${p} context dev`);
  });

  it('reads files relative to the kubeconfig, and a token file again on every use (projected tokens rotate)', () => {
    write('ca.pem', 'CA-TWO');
    const tokenFile = write('token', 'first\n');
    const c = loadKubeconfig(write('files', config('    tokenFile: token')), 'other');
    assert.equal(c.server, 'http://127.0.0.1:8080');
    assert.equal(c.ca, 'CA-TWO');
    assert.equal(c.token?.(), 'first');
    writeFileSync(tokenFile, 'second');
    assert.equal(c.token?.(), 'second');
  });

  it('refuses what it cannot use, naming the file and what is wrong', () => {
    assert.throws(() => loadKubeconfig(write('exec', config('    exec: {command: aws}'))), (e: Error) => e instanceof KubeconfigError && /exec and auth-provider credentials are not supported/.test(e.message));
    assert.throws(() => loadKubeconfig(write('nokey', config(`    client-certificate-data: ${b64('CERT')}`))), /a client certificate needs its key/);
    assert.throws(() => loadKubeconfig(write('ctx', config('    token: t')), 'prod'), /context "prod" not found \(contexts: dev, other\)/);
    assert.throws(() => loadKubeconfig(join(dir, 'absent')), /cannot read kubeconfig .*absent/);
  });

  it("uses the in-cluster config inside a pod: the service's address, the mounted token and CA", () => {
    const sa = join(dir, 'sa');
    mkdirSync(sa);
    writeFileSync(join(sa, 'token'), 'pod-token\n');
    writeFileSync(join(sa, 'ca.crt'), 'CLUSTER-CA');
    const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
    const c = inClusterConnection(env, sa);
    assert.equal(c.server, 'https://10.96.0.1:443');
    assert.equal(c.token?.(), 'pod-token');
    assert.equal(c.ca, 'CLUSTER-CA');
    assert.throws(() => inClusterConnection({}, sa), /KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set; pass --kubeconfig/);
    assert.throws(() => resolveConnection(undefined, { HOME: join(dir, 'nohome') }), /not in a cluster, and .*nohome\/.kube\/config does not exist; pass --kubeconfig/);
  });
});
