/**
 * Istio's "Authorization for TCP traffic" task on the local mesh with samples/tcp-echo and the curl
 * client, on the page's YAML, each connection made as the page makes it
 * (`echo "port 9000" | nc … 9000` in the client pod): an ALLOW by port, an ALLOW whose
 * rule uses an HTTP-only field (nothing is allowed), a DENY with one (everything is denied), and a
 * DENY by method and port (only that port). Connections go to the pod's own ports (its sidecar's
 * inbound ones), as the page reaches 9002 by pod IP; the manifests declare no container port 9002,
 * so no sidecar port stands for it locally and "ALLOW by port" closes 9001 instead.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { repoRoot, runSkiff } from '../helpers/cli.js';
import { startMesh } from './harness.js';
import type { Mesh } from './harness.js';

const policy = (action: string, operation: string): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: tcp-policy
spec:
  selector:
    matchLabels:
      app: tcp-echo
  action: ${action}
  rules:
  - to:
    - operation:
${operation}
`;

describe('authorization for TCP traffic on tcp-echo', { timeout: 180_000 }, () => {
  let mesh: Mesh;
  /**
   * `echo "port N" | nc <tcp-echo pod> N` from the curl pod: to the pod's own port, as the page
   * reaches 9002 by pod IP (locally, the tcp-echo sidecar's inbound port standing for N).
   */
  const ncWith = async (port: number): Promise<string> => {
    const pod = mesh.pods().find((p) => p.namespace === 'default' && p.name.startsWith('tcp-echo-'));
    assert.ok(pod !== undefined, 'the tcp-echo pod');
    const meshPort = pod.ports.mesh[String(port)];
    assert.ok(meshPort !== undefined, `tcp-echo's sidecar has an inbound port for ${port}: ${JSON.stringify(pod.ports.mesh)}`);
    const r = await runSkiff(['exec', 'deploy/curl', '-n', 'default', '--state-dir', mesh.stateDir, '--', 'nc', '127.0.0.1', String(meshPort)], { input: `port ${port}\n` });
    assert.equal(r.stderr.includes('no pod'), false, r.stderr);
    return r.stdout;
  };

  before(async () => {
    mesh = await startMesh({ files: [join(repoRoot, 'samples', 'tcp-echo', 'tcp-echo.yaml'), join(repoRoot, 'samples', 'curl', 'curl.yaml')] });
  });

  after(async () => {
    await mesh?.stop();
  });

  test('without a policy every port answers', async () => {
    assert.equal(await ncWith(9000), 'hello port 9000\n');
    assert.equal(await ncWith(9001), 'hello port 9001\n');
  });

  test('ALLOW by port: the ports it names answer, another is closed', async () => {
    await mesh.apply(policy('ALLOW', '        ports: ["9000", "9001"]'));
    assert.equal(await ncWith(9000), 'hello port 9000\n');
    assert.equal(await ncWith(9001), 'hello port 9001\n');
    await mesh.apply(policy('ALLOW', '        ports: ["9000"]'));
    assert.equal(await ncWith(9001), '', 'a port the rule does not name is closed');
  });

  test('ALLOW with an HTTP-only field: the rule is dropped, both ports are closed', async () => {
    await mesh.apply(policy('ALLOW', '        methods: ["GET"]\n        ports: ["9000"]'));
    assert.equal(await ncWith(9000), '');
    assert.equal(await ncWith(9001), '');
  });

  test('DENY with an HTTP-only field: the field is dropped, both ports are closed', async () => {
    await mesh.apply(policy('DENY', '        methods: ["GET"]'));
    assert.equal(await ncWith(9000), '');
    assert.equal(await ncWith(9001), '');
  });

  test('DENY by method and port: only 9000 is closed', async () => {
    await mesh.apply(policy('DENY', '        methods: ["GET"]\n        ports: ["9000"]'));
    assert.equal(await ncWith(9000), '');
    assert.equal(await ncWith(9001), 'hello port 9001\n');
    const explain = await mesh.skiff(['authz', 'explain', 'deploy/tcp-echo', '--tcp', '--port', '9000']);
    assert.match(explain.stdout, /^DENY: denied by ns\[default\]-policy\[tcp-policy\]-rule\[0\]/);
  });
});
