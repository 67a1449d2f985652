/**
 * DestinationRule traffic policy merge for (port, subset) in Istio's order (§17.2 of the
 * acceptance notes): top level, replaced wholesale by its port-level settings, then the subset's
 * fields, then the subset's port-level settings; and the conversion to the upstream's cluster input.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  connectionPoolOf,
  lbPolicyOf,
  outlierDetectionOf,
  policyFor,
} from '../../../src/controlplane/translate/destination-policy.js';
import { buildConfigIndex, translate } from '../../../src/controlplane/translate/index.js';
import type { Service, WorkloadInstance } from '../../../src/registry/types.js';
import { withDefaults } from '../../../src/snapshot/index.js';
import { loadYaml } from './cases.js';

const DR = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: { simple: RANDOM }
    connectionPool: { tcp: { maxConnections: 100 } }
    outlierDetection: { consecutive5xxErrors: 7 }
    portLevelSettings:
    - port: { number: 9080 }
      loadBalancer: { simple: ROUND_ROBIN }
  subsets:
  - name: v1
    labels: { version: v1 }
  - name: v2
    labels: { version: v2 }
    trafficPolicy:
      connectionPool: { http: { http1MaxPendingRequests: 5 } }
  - name: v3
    labels: { version: v3 }
    trafficPolicy:
      loadBalancer: { consistentHash: { httpHeaderName: x-user } }
      portLevelSettings:
      - port: { number: 9090 }
        connectionPool: { tcp: { maxConnections: 2 } }
`;

const index = buildConfigIndex(loadYaml('dr.yaml', DR), { services: [], workloads: [] });
const dr = index.destinationRule('reviews.default.svc.cluster.local', 'default');
const subset = (name: string) => dr?.subsets.find((s) => s.name === name);

describe('DestinationRule merge order', () => {
  const cases: Array<{ name: string; port: number; subset?: string; lb: unknown; pool: unknown; outlier: unknown }> = [
    { name: 'top level on a port without settings', port: 9090, lb: { policy: 'RANDOM' }, pool: { maxConnections: 100 }, outlier: { consecutive5xxErrors: 7 } },
    // Port-level settings replace the four policies wholesale: unset there means default, not inherited.
    { name: 'top-level port settings replace wholesale', port: 9080, lb: { policy: 'ROUND_ROBIN' }, pool: undefined, outlier: undefined },
    { name: 'a subset without policy inherits', port: 9090, subset: 'v1', lb: { policy: 'RANDOM' }, pool: { maxConnections: 100 }, outlier: { consecutive5xxErrors: 7 } },
    { name: 'subset fields override one by one', port: 9090, subset: 'v2', lb: { policy: 'RANDOM' }, pool: { http1MaxPendingRequests: 5 }, outlier: { consecutive5xxErrors: 7 } },
    { name: 'subset over port-level', port: 9080, subset: 'v2', lb: { policy: 'ROUND_ROBIN' }, pool: { http1MaxPendingRequests: 5 }, outlier: undefined },
    // Subset port-level settings replace connectionPool, outlierDetection, loadBalancer and tls.
    { name: 'subset port-level settings replace wholesale', port: 9090, subset: 'v3', lb: undefined, pool: { maxConnections: 2 }, outlier: undefined },
    { name: 'subset load balancer on another port', port: 9080, subset: 'v3', lb: { policy: 'RING_HASH', hash: { header: 'x-user' } }, pool: undefined, outlier: undefined },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const p = policyFor(dr, c.port, c.subset === undefined ? undefined : subset(c.subset));
      assert.deepEqual(lbPolicyOf(p?.loadBalancer), c.lb);
      assert.deepEqual(connectionPoolOf(p?.connectionPool), c.pool);
      assert.deepEqual(outlierDetectionOf(p?.outlierDetection), c.outlier);
    });
  }
});

describe('policy conversion', () => {
  test('zero int fields mean default; durations become milliseconds', () => {
    assert.deepEqual(
      connectionPoolOf({ tcp: { maxConnections: 0, connectTimeout: '250ms', idleTimeout: '1h' }, http: { http1MaxPendingRequests: 0, maxRequestsPerConnection: 1, idleTimeout: '30s', h2UpgradePolicy: 'UPGRADE' } }),
      { connectTimeoutMs: 250, tcpIdleTimeoutMs: 3_600_000, maxRequestsPerConnection: 1, idleTimeoutMs: 30_000, h2Upgrade: true },
    );
  });

  test('deprecated consecutiveErrors counts gateway errors; wrappers may be null', () => {
    assert.deepEqual(outlierDetectionOf({ consecutiveErrors: 3, consecutive5xxErrors: null, baseEjectionTime: '1m' }), { consecutiveGatewayErrors: 3, baseEjectionTimeMs: 60_000 });
    assert.deepEqual(outlierDetectionOf({ consecutive5xxErrors: 0 }), { consecutive5xxErrors: 0 });
  });

  test('load balancers: LEAST_CONN is LEAST_REQUEST, Maglev and ring sizes, cookies with TTL', () => {
    assert.deepEqual(lbPolicyOf({ simple: 'LEAST_CONN' }), { policy: 'LEAST_REQUEST' });
    assert.equal(lbPolicyOf({ simple: 'UNSPECIFIED' }), undefined);
    assert.deepEqual(lbPolicyOf({ consistentHash: { useSourceIp: true, maglev: { tableSize: 251 } } }), { policy: 'MAGLEV', hash: { sourceIp: true }, tableSize: 251 });
    assert.deepEqual(lbPolicyOf({ consistentHash: { httpCookie: { name: 'user', ttl: '10s' }, ringHash: { minimumRingSize: 64 } } }), {
      policy: 'RING_HASH',
      hash: { cookie: { name: 'user', ttlMs: 10_000 } },
      minimumRingSize: 64,
    });
  });
});

describe('backendUtilization', () => {
  test('Istio\'s fields become client-side weighted round robin: durations in ms, the error penalty from percent to a multiplier', () => {
    assert.deepEqual(
      lbPolicyOf({ backendUtilization: { weightUpdatePeriod: '2s', weightExpirationPeriod: '5m', weightStabilizationPeriod: '30s', errorUtilizationPenaltyPercent: 150, metricNamesForComputingUtilization: ['queue'] } }),
      { policy: 'CLIENT_SIDE_WEIGHTED_ROUND_ROBIN', weightUpdatePeriodMs: 2000, weightExpirationPeriodMs: 300_000, blackoutPeriodMs: 30_000, errorUtilizationPenalty: 1.5, metricNamesForComputingUtilization: ['queue'] },
    );
    assert.deepEqual(lbPolicyOf({ backendUtilization: {} }), { policy: 'CLIENT_SIDE_WEIGHTED_ROUND_ROBIN' });
  });

  test('a DestinationRule with backendUtilization reaches the caller\'s cluster in the snapshot, Envoy\'s defaults filled in', () => {
    const config = loadYaml(
      'dr.yaml',
      `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  trafficPolicy:
    loadBalancer:
      backendUtilization:
        weightStabilizationPeriod: 5s
        errorUtilizationPenaltyPercent: 50
`,
    );
    const caller: WorkloadInstance = {
      name: 'productpage-v1-0',
      namespace: 'default',
      labels: { app: 'productpage' },
      serviceAccount: 'default',
      address: '127.0.0.1',
      ready: true,
      meshPorts: {},
      appPorts: {},
      sidecar: { outboundPort: 15001, adminPort: 0, proxyId: 'productpage-v1-0.default' },
    };
    const services: Service[] = [{ name: 'reviews', namespace: 'default', hostname: 'reviews.default.svc.cluster.local', ports: [{ name: 'http', port: 9080, targetPort: 9080, protocol: 'TCP' }], selector: { app: 'reviews' } }];
    const snap = translate({ config, registry: { services, workloads: [caller] }, proxy: { kind: 'sidecar', id: caller.sidecar!.proxyId, workload: caller } });
    const cluster = snap.clusters.find((c) => c.name === 'outbound|9080||reviews.default.svc.cluster.local');
    assert.deepEqual(cluster?.lb, { policy: 'CLIENT_SIDE_WEIGHTED_ROUND_ROBIN', blackoutPeriodMs: 5000, errorUtilizationPenalty: 0.5 });
    assert.deepEqual(withDefaults(cluster).lb, {
      policy: 'CLIENT_SIDE_WEIGHTED_ROUND_ROBIN',
      weightUpdatePeriodMs: 1000,
      weightExpirationPeriodMs: 180_000,
      blackoutPeriodMs: 5000,
      errorUtilizationPenalty: 0.5,
      metricNamesForComputingUtilization: [],
    });
  });
});

describe('DestinationRule lookup', () => {
  const rules = (yaml: string) => buildConfigIndex(loadYaml('drs.yaml', yaml), { services: ['reviews', 'ratings'].map((n) => ({ name: n, namespace: 'default', hostname: `${n}.default.svc.cluster.local`, ports: [] })), workloads: [] });
  const doc = (name: string, ns: string, host: string, extra = '') =>
    `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: { name: ${name}, namespace: ${ns} }\nspec:\n  host: ${host}\n${extra}`;

  test("the proxy's namespace first, then the service's, then the root namespace", () => {
    const idx = rules([doc('root', 'istio-system', 'reviews.default.svc.cluster.local'), doc('svc', 'default', 'reviews'), doc('mine', 'client', 'reviews.default.svc.cluster.local')].join('---\n'));
    const host = 'reviews.default.svc.cluster.local';
    assert.equal(idx.destinationRule(host, 'client')?.name, 'mine');
    assert.equal(idx.destinationRule(host, 'elsewhere')?.name, 'svc');
    const onlyRoot = rules(doc('root', 'istio-system', 'reviews.default.svc.cluster.local'));
    assert.equal(onlyRoot.destinationRule(host, 'elsewhere')?.name, 'root');
  });

  test('exact host beats a wildcard; exportTo hides; same-host rules merge subsets', () => {
    const idx = rules(
      [
        doc('wild', 'default', '"*.default.svc.cluster.local"'),
        doc('exact', 'default', 'reviews', '  subsets: [{ name: v1, labels: { version: v1 } }]\n'),
        doc('more', 'default', 'reviews', '  subsets: [{ name: v1, labels: { version: x } }, { name: v2, labels: { version: v2 } }]\n'),
        doc('private', 'default', 'ratings', '  exportTo: ["."]\n'),
      ].join('---\n'),
    );
    const r = idx.destinationRule('reviews.default.svc.cluster.local', 'default');
    assert.equal(r?.name, 'exact');
    assert.deepEqual(r?.subsets.map((s) => `${s.name}=${s.labels?.version}`), ['v1=v1', 'v2=v2']);
    assert.equal(idx.destinationRule('ratings.default.svc.cluster.local', 'default')?.name, 'private');
    assert.equal(idx.destinationRule('ratings.default.svc.cluster.local', 'other')?.name, 'wild');
  });
});

describe('DestinationRule tls per port and subset', () => {
  test('top level, replaced by port-level settings, overridden by a subset and its port-level settings, each cluster gets its own', () => {
    const config = loadYaml(
      'dr.yaml',
      `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  trafficPolicy:
    tls: { mode: SIMPLE, caCertificates: /etc/certs/root.pem, subjectAltNames: [reviews.example.com] }
    portLevelSettings:
    - port: { number: 9443 }
      tls: { mode: MUTUAL, clientCertificate: /etc/certs/cert.pem, privateKey: /etc/certs/key.pem, sni: reviews-9443 }
  subsets:
  - name: v1
    labels: { version: v1 }
  - name: v2
    labels: { version: v2 }
    trafficPolicy:
      tls: { mode: DISABLE }
      portLevelSettings:
      - port: { number: 9443 }
        tls: { mode: SIMPLE, insecureSkipVerify: true }
`,
    );
    const caller: WorkloadInstance = {
      name: 'productpage-v1-0',
      namespace: 'default',
      labels: { app: 'productpage' },
      serviceAccount: 'default',
      address: '127.0.0.1',
      ready: true,
      meshPorts: {},
      appPorts: {},
      sidecar: { outboundPort: 15001, adminPort: 0, proxyId: 'productpage-v1-0.default' },
    };
    const host = 'reviews.default.svc.cluster.local';
    const services: Service[] = [
      {
        name: 'reviews',
        namespace: 'default',
        hostname: host,
        ports: [
          { name: 'http', port: 9080, targetPort: 9080, protocol: 'TCP' },
          { name: 'https', port: 9443, targetPort: 9443, protocol: 'TCP' },
        ],
        selector: { app: 'reviews' },
      },
    ];
    const snap = translate({ config, registry: { services, workloads: [caller] }, proxy: { kind: 'sidecar', id: caller.sidecar!.proxyId, workload: caller } });
    const tlsOf = (port: number, subset = ''): unknown => snap.clusters.find((c) => c.name === `outbound|${port}|${subset}|${host}`)?.tls;
    const simple = { mode: 'SIMPLE', sni: host, subjectAltNames: ['reviews.example.com'], caCertificates: { file: '/etc/certs/root.pem' } };
    const mutual = { mode: 'MUTUAL', sni: 'reviews-9443', clientCertificate: { file: '/etc/certs/cert.pem' }, privateKey: { file: '/etc/certs/key.pem' } };
    assert.deepEqual(tlsOf(9080), simple);
    assert.deepEqual(tlsOf(9443), mutual);
    assert.deepEqual(tlsOf(9080, 'v1'), simple);
    assert.deepEqual(tlsOf(9443, 'v1'), mutual);
    assert.deepEqual(tlsOf(9080, 'v2'), { mode: 'DISABLE' });
    assert.deepEqual(tlsOf(9443, 'v2'), { mode: 'SIMPLE', sni: host, insecureSkipVerify: true });
  });
});
