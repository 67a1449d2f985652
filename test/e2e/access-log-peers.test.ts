/**
 * Istio's "Envoy Access Logs" task with a custom format printing the mutual-TLS peer fields, on
 * Istio's own httpbin and curl samples: curl in `default` (a sidecar) and in `legacy` (none)
 * calling httpbin in `default` under automatic mutual TLS.
 *
 * - MeshConfig `accessLogFormat`: httpbin's sidecar prints curl's SPIFFE id and TLSv1.3 as the
 *   downstream peer, curl's sidecar httpbin's SPIFFE id as the upstream peer; the plaintext call
 *   from legacy prints `-` for them;
 * - a Telemetry resource naming an `envoyFileAccessLog` provider with `logFormat.labels`: JSON lines
 *   with the same facts; a format with an unknown operator is refused by apply, naming it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { repoRoot } from '../helpers/cli.js';
import { istioSample, skipWithoutIstioSamples } from '../helpers/shared.js';
import { eventually, startMesh } from './harness.js';
import type { Mesh } from './harness.js';

const LEGACY = `apiVersion: v1
kind: Namespace
metadata:
  name: legacy
  labels: { istio-injection: disabled }
`;

function meshConfig(mesh: string): string {
  const body = mesh
    .split('\n')
    .map((l) => (l === '' ? l : `    ${l}`))
    .join('\n');
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: istio\n  namespace: istio-system\ndata:\n  mesh: |-\n${body}\n`;
}

const TEXT_FORMAT = meshConfig(
  [
    'accessLogFile: /dev/stdout',
    `accessLogFormat: "probe=%REQ(X-PROBE)% peer=%DOWNSTREAM_PEER_URI_SAN% tls=%DOWNSTREAM_TLS_VERSION% upstream_peer=%UPSTREAM_PEER_URI_SAN% upstream_tls=%UPSTREAM_TLS_VERSION% code=%RESPONSE_CODE%"`,
  ].join('\n'),
);

const JSON_PROVIDER = meshConfig(
  [
    'extensionProviders:',
    '- name: peers',
    '  envoyFileAccessLog:',
    '    path: /dev/stdout',
    '    logFormat:',
    '      labels:',
    '        probe: "%REQ(X-PROBE)%"',
    '        peer: "%DOWNSTREAM_PEER_URI_SAN%"',
    '        upstream_peer: "%UPSTREAM_PEER_URI_SAN%"',
    '        code: "%RESPONSE_CODE%"',
  ].join('\n'),
);

const TELEMETRY = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: peers, namespace: default }
spec:
  accessLogging:
  - providers:
    - name: peers
`;

const CURL_SA = 'spiffe://cluster.local/ns/default/sa/curl';
const HTTPBIN_SA = 'spiffe://cluster.local/ns/default/sa/httpbin';

describe('access logs with the peer fields of mutual TLS', { skip: skipWithoutIstioSamples, timeout: 600_000 }, () => {
  let mesh: Mesh;
  before(async () => {
    mesh = await startMesh({ files: [], images: join(repoRoot, 'samples', 'images.yaml') });
    await mesh.apply(LEGACY);
    for (const [file, ns] of [
      [istioSample('httpbin', 'httpbin.yaml'), 'default'],
      [istioSample('curl', 'curl.yaml'), 'default'],
      [istioSample('curl', 'curl.yaml'), 'legacy'],
    ] as const) {
      const out = await mesh.skiff(['apply', '-f', file, '-n', ns]);
      assert.equal(out.code, 0, out.stderr);
    }
    await mesh.waitReady(180_000);
  });
  after(async () => {
    await mesh?.stop();
  });

  /** curl from `from` to httpbin.default with an `x-probe` header naming the call. */
  async function call(from: string, probe: string): Promise<void> {
    const out = await mesh.exec('deploy/curl', from, ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', `x-probe: ${probe}`, 'http://httpbin.default:8000/ip']);
    assert.equal(out.stdout.trim(), '200', out.stderr);
  }

  /** The proxy log line of `workload` in `ns` that names `probe`. */
  async function lineOf(workload: string, ns: string, probe: string): Promise<string> {
    let line: string | undefined;
    await eventually(async () => {
      line = (await mesh.logs(workload, ns, { proxy: true })).split('\n').find((l) => l.includes(probe));
      return line !== undefined;
    }, `the access log line of ${probe} in ${workload}.${ns}'s sidecar`);
    return line ?? '';
  }

  test("accessLogFormat: the destination prints the source's SPIFFE id and TLS version, the source the destination's", async () => {
    await mesh.apply(TEXT_FORMAT);
    await mesh.settle();
    await call('default', 'mtls-1');
    assert.equal(await lineOf('deploy/httpbin', 'default', 'probe=mtls-1'), `probe=mtls-1 peer=${CURL_SA} tls=TLSv1.3 upstream_peer=- upstream_tls=- code=200`);
    assert.equal(await lineOf('deploy/curl', 'default', 'probe=mtls-1'), `probe=mtls-1 peer=- tls=- upstream_peer=${HTTPBIN_SA} upstream_tls=TLSv1.3 code=200`);
  });

  test('a plaintext hop prints - for the peer fields', async () => {
    await call('legacy', 'plain-1');
    assert.equal(await lineOf('deploy/httpbin', 'default', 'probe=plain-1'), 'probe=plain-1 peer=- tls=- upstream_peer=- upstream_tls=- code=200');
  });

  test('a Telemetry naming an envoyFileAccessLog provider with labels writes JSON lines', async () => {
    await mesh.apply(JSON_PROVIDER);
    await mesh.apply(TELEMETRY);
    await mesh.settle();
    await call('default', 'json-1');
    assert.deepEqual(JSON.parse(await lineOf('deploy/httpbin', 'default', '"json-1"')), { probe: 'json-1', peer: CURL_SA, upstream_peer: null, code: 200 });
    assert.deepEqual(JSON.parse(await lineOf('deploy/curl', 'default', '"json-1"')), { probe: 'json-1', peer: null, upstream_peer: HTTPBIN_SA, code: 200 });
  });

  test('apply refuses a format with an unknown operator, naming it and where; the format in force stays', async () => {
    const out = await mesh.skiff(['apply', '-f', '-'], meshConfig('accessLogFile: /dev/stdout\naccessLogFormat: "%DOWNSTREAM_PEER_URI_SANS%"'));
    assert.notEqual(out.code, 0);
    assert.match(out.stderr, /accessLogFormat: at character 1: unknown command operator %DOWNSTREAM_PEER_URI_SANS%/);
    await call('default', 'json-2');
    assert.equal(JSON.parse(await lineOf('deploy/httpbin', 'default', '"json-2"')).peer, CURL_SA);
  });
});
