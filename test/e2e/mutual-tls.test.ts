/**
 * Istio's "Mutual TLS Migration" and "Authentication Policy" tasks on Istio's own httpbin and curl
 * samples, in namespaces foo and bar (sidecars) and legacy (labelled istio-injection: disabled),
 * on one live mesh whose certificates live 12 s (so every step also runs across rotations):
 *
 * - every client reaches every httpbin (nine pairs, 200) with automatic mutual TLS, which foo → foo
 *   shows in `X-Forwarded-Client-Cert` and in httpbin's sidecar metrics, and legacy → foo does not;
 * - mesh-wide, namespace, workload and port-level PeerAuthentication, and the precedence step, as
 *   the pages say: plaintext to a STRICT workload is reset (`000`, curl exit 56);
 * - a steady load across certificate rotations loses no request, and proxy-config secret shows
 *   the new serial.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { repoRoot } from '../helpers/cli.js';
import { istioSample, skipWithoutIstioSamples } from '../helpers/shared.js';
import { startExecLoad } from './exec-load.js';
import { delay, eventually, startMesh } from './harness.js';
import type { Mesh } from './harness.js';

const NAMESPACES = `apiVersion: v1
kind: Namespace
metadata: { name: foo }
---
apiVersion: v1
kind: Namespace
metadata: { name: bar }
---
apiVersion: v1
kind: Namespace
metadata:
  name: legacy
  labels: { istio-injection: disabled }
`;

const ALL = ['foo', 'bar', 'legacy'] as const;

const MESH_STRICT = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec:
  mtls: { mode: STRICT }
`;
const FOO_STRICT = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: foo }
spec:
  mtls: { mode: STRICT }
`;
const BAR_HTTPBIN_STRICT = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: httpbin, namespace: bar }
spec:
  selector: { matchLabels: { app: httpbin } }
  mtls: { mode: STRICT }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: httpbin, namespace: bar }
spec:
  host: httpbin.bar.svc.cluster.local
  trafficPolicy:
    tls: { mode: ISTIO_MUTUAL }
`;
const BAR_PORT_DISABLE = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: httpbin, namespace: bar }
spec:
  selector: { matchLabels: { app: httpbin } }
  mtls: { mode: STRICT }
  portLevelMtls:
    "8080": { mode: DISABLE }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: httpbin, namespace: bar }
spec:
  host: httpbin.bar.svc.cluster.local
  trafficPolicy:
    tls: { mode: ISTIO_MUTUAL }
    portLevelSettings:
    - port: { number: 8000 }
      tls: { mode: DISABLE }
`;
const FOO_OVERWRITE = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: overwrite-example, namespace: foo }
spec:
  selector: { matchLabels: { app: httpbin } }
  mtls: { mode: DISABLE }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: overwrite-example, namespace: foo }
spec:
  host: httpbin.foo.svc.cluster.local
  trafficPolicy:
    tls: { mode: DISABLE }
`;

interface ProxyInfo {
  node: { workload?: { name: string; namespace: string; labels: Record<string, string> } };
  metricsUrl?: string;
}

describe('mutual TLS migration and authentication policy', { skip: skipWithoutIstioSamples, timeout: 900_000 }, () => {
  let mesh: Mesh;
  before(async () => {
    mesh = await startMesh({ files: [], images: join(repoRoot, 'samples', 'images.yaml'), upArgs: ['--workload-cert-ttl', '12s'] });
    await mesh.apply(NAMESPACES);
    for (const ns of ALL) {
      for (const file of [istioSample('httpbin', 'httpbin.yaml'), istioSample('curl', 'curl.yaml')]) {
        const out = await mesh.skiff(['apply', '-f', file, '-n', ns]);
        assert.equal(out.code, 0, out.stderr);
      }
    }
    await mesh.waitReady(180_000);
  });
  after(async () => {
    await mesh?.stop();
  });

  /** Istio's probe: `curl http://httpbin.<to>:8000/ip -s -o /dev/null -w "%{http_code}"`, with curl's exit code when not 0. */
  async function probe(from: string, to: string): Promise<string> {
    const out = await mesh.exec('deploy/curl', from, ['curl', `http://httpbin.${to}:8000/ip`, '-s', '-o', '/dev/null', '-w', '%{http_code}']);
    return out.code === 0 ? out.stdout.trim() : `${out.stdout.trim()} exit ${String(out.code)}`;
  }

  /** All nine pairs against what is expected (200 unless `except` says otherwise). */
  async function expectPairs(except: Record<string, string> = {}): Promise<void> {
    const got: Record<string, string> = {};
    const want: Record<string, string> = {};
    for (const from of ALL) {
      for (const to of ALL) {
        const pair = `${from}→${to}`;
        got[pair] = await probe(from, to);
        want[pair] = except[pair] ?? '200';
      }
    }
    assert.deepEqual(got, want);
  }

  const RESET = '000 exit 56';

  test('M1: with no policy all nine pairs answer 200', async () => {
    await expectPairs();
  });

  async function headersSeen(from: string, to: string): Promise<Record<string, string>> {
    const out = await mesh.exec('deploy/curl', from, ['curl', '-s', `http://httpbin.${to}:8000/headers`]);
    assert.equal(out.code, 0, out.stderr);
    const headers = (JSON.parse(out.stdout) as { headers: Record<string, string | string[]> }).headers;
    const lower: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
    return lower;
  }

  test('M2: foo → foo carries X-Forwarded-Client-Cert naming both workloads; legacy → foo and foo → legacy carry none', async () => {
    const xfcc = (await headersSeen('foo', 'foo'))['x-forwarded-client-cert'];
    assert.match(xfcc ?? '', /^By=spiffe:\/\/cluster\.local\/ns\/foo\/sa\/httpbin;Hash=[0-9a-f]{64};Subject="";URI=spiffe:\/\/cluster\.local\/ns\/foo\/sa\/curl$/);
    assert.equal((await headersSeen('legacy', 'foo'))['x-forwarded-client-cert'], undefined);
    assert.equal((await headersSeen('foo', 'legacy'))['x-forwarded-client-cert'], undefined);
  });

  test("httpbin's sidecar counts foo's calls as mutual_tls with curl's principal, legacy's as none", async () => {
    const res = await fetch(`${mesh.apiUrl}/api/v1/proxies`, { headers: mesh.apiHeaders() });
    const proxies = ((await res.json()) as { proxies: ProxyInfo[] }).proxies;
    const httpbin = proxies.find((p) => p.node.workload?.namespace === 'foo' && p.node.workload.labels.app === 'httpbin');
    assert.ok(httpbin?.metricsUrl !== undefined, 'httpbin.foo has a metrics URL');
    const text = await (await fetch(httpbin.metricsUrl)).text();
    const series = text.split('\n').filter((l) => l.startsWith('istio_requests_total{') && l.includes('reporter="destination"'));
    const fromFoo = series.find((l) => l.includes('source_workload_namespace="foo"'));
    assert.ok(fromFoo !== undefined, series.join('\n'));
    assert.match(fromFoo, /connection_security_policy="mutual_tls"/);
    assert.match(fromFoo, /source_principal="spiffe:\/\/cluster\.local\/ns\/foo\/sa\/curl"/);
    assert.match(fromFoo, /destination_principal="spiffe:\/\/cluster\.local\/ns\/foo\/sa\/httpbin"/);
    const fromLegacy = series.find((l) => l.includes('source_principal="unknown"'));
    assert.ok(fromLegacy !== undefined, series.join('\n'));
    assert.match(fromLegacy, /connection_security_policy="none"/);
  });

  test('M3: mesh-wide STRICT resets legacy → foo and legacy → bar (curl exit 56); the rest answer 200', async () => {
    await mesh.apply(MESH_STRICT);
    await expectPairs({ 'legacy→foo': RESET, 'legacy→bar': RESET });
    await mesh.delete(MESH_STRICT);
  });

  test('M4: namespace STRICT in foo resets legacy → foo only', async () => {
    await mesh.apply(FOO_STRICT);
    assert.equal(await probe('legacy', 'foo'), RESET);
    assert.equal(await probe('legacy', 'bar'), '200');
    assert.equal(await probe('bar', 'foo'), '200');
  });

  test("M5: a workload policy STRICT for bar's httpbin (with its DestinationRule ISTIO_MUTUAL) resets legacy → bar too", async () => {
    await mesh.apply(BAR_HTTPBIN_STRICT);
    assert.equal(await probe('legacy', 'foo'), RESET);
    assert.equal(await probe('legacy', 'bar'), RESET);
    assert.equal(await probe('foo', 'bar'), '200');
  });

  test('M6: port-level DISABLE on the container port 8080 (with the DestinationRule DISABLE on 8000) lets legacy → bar through', async () => {
    await mesh.apply(BAR_PORT_DISABLE);
    assert.equal(await probe('legacy', 'bar'), '200');
    assert.equal(await probe('foo', 'bar'), '200');
    assert.equal(await probe('legacy', 'foo'), RESET);
  });

  test("M7: a workload policy DISABLE overrides foo's namespace STRICT (with its DestinationRule DISABLE)", async () => {
    await mesh.apply(FOO_OVERWRITE);
    assert.equal(await probe('legacy', 'foo'), '200');
    assert.equal(await probe('bar', 'foo'), '200');
    assert.equal(await probe('foo', 'foo'), '200');
    await mesh.delete(FOO_OVERWRITE);
    await mesh.delete(BAR_PORT_DISABLE);
    await mesh.delete(FOO_STRICT);
    await expectPairs();
  });

  test('a steady load across certificate rotations loses no request; proxy-config secret shows the new serial', async () => {
    const serial = async (): Promise<string> => {
      const out = await mesh.skiff(['proxy-config', 'secret', 'deploy/httpbin', '-n', 'foo', '-o', 'json']);
      assert.equal(out.code, 0, out.stderr);
      return (JSON.parse(out.stdout) as { secrets: { serialNumber: string }[] }).secrets[0].serialNumber;
    };
    const first = await serial();
    const load = startExecLoad(mesh.stateDir, 'deploy/curl', 'http://httpbin.foo:8000/ip', 20, 'foo');
    try {
      // 12 s certificates are renewed about every 6 s: wait for two rotations of httpbin's.
      let seen = first;
      let rotations = 0;
      await eventually(async () => {
        await delay(1000);
        const now = await serial();
        if (now !== seen) {
          rotations++;
          seen = now;
        }
        return rotations >= 2;
      }, 'two rotations of httpbin.foo', 60_000);
      await delay(1000);
    } finally {
      const records = await load.stop();
      assert.ok(records.length > 100, `the load ran (${records.length} requests)`);
      const failed = records.filter((r) => r.status !== 200);
      assert.deepEqual(failed, [], `${failed.length} of ${records.length} requests failed`);
    }
  });
});
