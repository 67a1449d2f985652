/**
 * Translation that survives a bad resource: resources that make translating a proxy throw (here,
 * ones that never met their schema, as a config source that does not validate would hand over)
 * are left out of every proxy's config and named with the error, and the rest is translated as
 * if they were not there; what was found is kept for the config generation; a throw that no
 * resource causes is passed on.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IsolatingTranslator } from '../../../src/controlplane/translate/isolate.js';
import type { LeftOutResource } from '../../../src/controlplane/translate/isolate.js';
import { translate } from '../../../src/controlplane/translate/index.js';
import type { SidecarTarget } from '../../../src/controlplane/translate/index.js';
import type { Resource } from '../../../src/api/types.js';
import type { RegistrySnapshot, Service, WorkloadInstance } from '../../../src/registry/types.js';
import { loadYaml, sidecarWorkload } from './cases.js';

function service(name: string): Service {
  return { name, namespace: 'default', hostname: `${name}.default.svc.cluster.local`, ports: [{ name: 'http', port: 9080, targetPort: 9080, protocol: 'TCP' }], selector: { app: name } };
}

const workloads: WorkloadInstance[] = [sidecarWorkload('curl-1', 'default', { app: 'curl' }, 21001), sidecarWorkload('curl-2', 'default', { app: 'curl' }, 21002)];
const registry: RegistrySnapshot = { services: [service('reviews'), service('ratings'), service('details')], workloads };
const target = (w: WorkloadInstance): SidecarTarget => ({ kind: 'sidecar', id: w.sidecar!.proxyId, workload: w });

const GOOD = loadYaml(
  'good.yaml',
  `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews]
  http:
  - name: to-reviews
    route: [{ destination: { host: reviews } }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: details, namespace: default }
spec:
  host: details
  trafficPolicy: { connectionPool: { http: { http1MaxPendingRequests: 3 } } }
`,
);

/** What a source that does not validate could hand over: an `http` that is no list, a `route` that is a number. */
function broken(name: string, host: string, http: unknown): Resource {
  return { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name, namespace: 'default', creationTimestamp: '2020-01-01T00:00:00Z' }, spec: { hosts: [host], http } };
}

const routeNames = (snap: { routes: Array<{ virtualHosts: Array<{ routes: Array<{ name?: string }> }> }> }): string[] =>
  snap.routes.flatMap((r) => r.virtualHosts.flatMap((v) => v.routes.map((x) => x.name ?? ''))).filter((n) => n !== '');

test('without the bad resources translation throws; isolated, each is left out by name and the rest is translated', () => {
  const config = [...GOOD, broken('oops', 'ratings', 'oops'), broken('worse', 'details', [{ route: 7 }])];
  assert.throws(() => translate({ config, registry, proxy: target(workloads[0]) }));
  const found: LeftOutResource[] = [];
  const translator = new IsolatingTranslator((l) => found.push(l));
  const snap = translator.translate({ config, registry, proxy: target(workloads[0]) });
  assert.deepEqual(found.map((l) => l.ref).sort(), ['VirtualService default/oops', 'VirtualService default/worse']);
  for (const l of found) assert.ok(l.error.length > 0, `${l.ref} has its error`);
  // The same snapshot as the good config alone gives.
  const alone = translate({ config: GOOD, registry, proxy: target(workloads[0]) });
  assert.deepEqual(JSON.parse(JSON.stringify(snap)), JSON.parse(JSON.stringify(alone)));
  assert.ok(routeNames(snap).includes('to-reviews'));
  assert.deepEqual(translator.leftOut(config).map((l) => l.ref).sort(), found.map((l) => l.ref).sort());
});

test('what was found is kept for the config generation: the next proxy is not searched again, a new generation is', () => {
  const config = [...GOOD, broken('oops', 'ratings', 'oops')];
  const found: string[] = [];
  const translator = new IsolatingTranslator((l) => found.push(l.ref));
  translator.translate({ config, registry, proxy: target(workloads[0]) });
  const second = translator.translate({ config, registry, proxy: target(workloads[1]) });
  assert.deepEqual(found, ['VirtualService default/oops'], 'found once');
  assert.ok(routeNames(second).includes('to-reviews'));
  // The bad resource replaced by a good one: a new generation with nothing left out.
  const mended = [...GOOD];
  translator.translate({ config: mended, registry, proxy: target(workloads[0]) });
  assert.deepEqual(translator.leftOut(mended), []);
});

test('a throw no resource causes is passed on (a sidecar workload without its ports)', () => {
  const translator = new IsolatingTranslator();
  const { sidecar: _, ...portless } = workloads[0];
  assert.throws(() => translator.translate({ config: GOOD, registry, proxy: { kind: 'sidecar', id: 'x', workload: portless } }), /has no sidecar/);
});
