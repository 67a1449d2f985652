/**
 * The proxy snapshot's telemetry section as translation derives it: mesh-wide settings, refined
 * by Telemetry resources resolved as Istio does (root namespace, then the workload's namespace,
 * then a selector matching the workload; the oldest wins within a level), and nothing at all
 * when neither says anything.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildConfigIndex, telemetrySection, translate } from '../../../src/controlplane/translate/index.js';
import type { MeshOptions } from '../../../src/controlplane/translate/index.js';
import type { WorkloadInstance } from '../../../src/registry/types.js';
import { checkSnapshot } from '../../../src/proxy/snapshot.js';
import { loadYaml } from '../translate/cases.js';

function telemetry(name: string, namespace: string, body: string, created = '2024-01-01T00:00:00Z'): string {
  return `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata:
  name: ${name}
  namespace: ${namespace}
  creationTimestamp: "${created}"
spec:
${body}
---
`;
}

const CONFIG = loadYaml(
  'telemetry.yaml',
  telemetry('mesh-default', 'istio-system', '  tracing:\n  - randomSamplingPercentage: 10\n  accessLogging:\n  - providers:\n    - name: envoy') +
    telemetry('ns', 'default', '  tracing:\n  - randomSamplingPercentage: 50') +
    telemetry('ns-newer', 'default', '  tracing:\n  - randomSamplingPercentage: 70', '2024-06-01T00:00:00Z') +
    telemetry('reviews', 'default', '  selector:\n    matchLabels:\n      app: reviews\n  tracing:\n  - randomSamplingPercentage: 100\n  accessLogging:\n  - disabled: true') +
    telemetry('other', 'prod', '  selector:\n    matchLabels:\n      app: reviews\n  tracing:\n  - randomSamplingPercentage: 0'),
);

const section = (config: typeof CONFIG, ns: string, labels: Record<string, string>, mesh: Partial<MeshOptions> = {}): ReturnType<typeof telemetrySection> =>
  telemetrySection(buildConfigIndex(config, { services: [], workloads: [] }, mesh), ns, labels);

describe('telemetry section', () => {
  test('the most specific Telemetry that sets a field wins: workload, then namespace, then mesh-wide', () => {
    assert.deepEqual(section(CONFIG, 'default', { app: 'reviews' }), { tracing: { sampling: 100 }, accessLog: { enabled: false } });
    assert.deepEqual(section(CONFIG, 'default', { app: 'ratings' }), { tracing: { sampling: 50 }, accessLog: { enabled: true } });
    assert.deepEqual(section(CONFIG, 'test', { app: 'reviews' }), { tracing: { sampling: 10 }, accessLog: { enabled: true } });
    assert.deepEqual(section(CONFIG, 'istio-system', { istio: 'ingressgateway' }), { tracing: { sampling: 10 }, accessLog: { enabled: true } });
  });

  test('mesh-wide settings apply where no Telemetry says otherwise; the collector always', () => {
    const mesh = { telemetry: { sampling: 1, collectorUrl: 'http://127.0.0.1:15080/api/v2/spans', zipkinUrl: 'http://zipkin:9411/api/v2/spans', accessLog: { enabled: true, format: 'json' as const } } };
    assert.deepEqual(section([], 'default', {}, mesh), {
      tracing: { sampling: 1, collectorUrl: 'http://127.0.0.1:15080/api/v2/spans', zipkinUrl: 'http://zipkin:9411/api/v2/spans' },
      accessLog: { enabled: true, format: 'json' },
    });
    assert.deepEqual(section(CONFIG, 'default', { app: 'reviews' }, mesh)?.tracing?.sampling, 100);
    assert.deepEqual(section(CONFIG, 'default', { app: 'reviews' }, mesh)?.accessLog, { enabled: false, format: 'json' });
  });

  test('without mesh settings or Telemetry the snapshot has no section; with them it is one the proxy accepts', () => {
    assert.equal(section([], 'default', { app: 'reviews' }), undefined);
    const workload: WorkloadInstance = {
      name: 'reviews-v1-abc-xyz',
      namespace: 'default',
      labels: { app: 'reviews' },
      serviceAccount: 'default',
      address: '127.0.0.1',
      ready: true,
      meshPorts: {},
      appPorts: {},
      sidecar: { outboundPort: 15001, adminPort: 15000, proxyId: 'reviews-v1-abc-xyz.default' },
    };
    const proxy = { kind: 'sidecar' as const, id: workload.sidecar!.proxyId, workload };
    const registry = { services: [], workloads: [workload] };
    assert.equal(translate({ config: [], registry, proxy }).telemetry, undefined);
    const snap = translate({ config: CONFIG, registry, proxy, mesh: { telemetry: { collectorUrl: 'http://127.0.0.1:1/api/v2/spans' } } });
    assert.deepEqual(snap.telemetry, { tracing: { sampling: 100, collectorUrl: 'http://127.0.0.1:1/api/v2/spans' }, accessLog: { enabled: false } });
    assert.deepEqual(checkSnapshot(JSON.parse(JSON.stringify(snap))).snapshot.telemetry, snap.telemetry);
  });

  test("a Telemetry naming an envoyFileAccessLog provider takes its logFormat; the built-in envoy provider the mesh's format", () => {
    const providers = [
      { name: 'peers', envoyFileAccessLog: { path: '/dev/stdout', logFormat: { text: '%DOWNSTREAM_PEER_URI_SAN% %DOWNSTREAM_TLS_VERSION%' } } },
      { name: 'json', envoyFileAccessLog: { logFormat: { labels: { peer: '%UPSTREAM_PEER_URI_SAN%' } } } },
    ];
    const mesh = { extensionProviders: providers, telemetry: { accessLog: { enabled: true, format: 'text' as const, text: '%DURATION%\n' } } };
    const config = loadYaml(
      'telemetry.yaml',
      telemetry('ns', 'default', '  accessLogging:\n  - providers:\n    - name: peers') +
        telemetry('json', 'default', '  selector:\n    matchLabels:\n      app: reviews\n  accessLogging:\n  - providers:\n    - name: json') +
        telemetry('envoy', 'prod', '  accessLogging:\n  - providers:\n    - name: envoy'),
    );
    assert.deepEqual(section(config, 'default', { app: 'ratings' }, mesh)?.accessLog, { enabled: true, format: 'text', text: '%DOWNSTREAM_PEER_URI_SAN% %DOWNSTREAM_TLS_VERSION%\n' });
    assert.deepEqual(section(config, 'default', { app: 'reviews' }, mesh)?.accessLog, { enabled: true, format: 'json', labels: { peer: '%UPSTREAM_PEER_URI_SAN%' } });
    assert.deepEqual(section(config, 'prod', {}, mesh)?.accessLog, { enabled: true, format: 'text', text: '%DURATION%\n' });
    const snap = section(config, 'default', { app: 'ratings' }, mesh);
    assert.deepEqual(checkSnapshot(JSON.parse(JSON.stringify({ version: '1', node: { id: 'x', kind: 'sidecar' }, listeners: [], routes: [], clusters: [], telemetry: snap }))).snapshot.telemetry, snap);
  });
});
