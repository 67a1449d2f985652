/**
 * configMap and secret volumes on the local runtime: Istio's rate-limit-service.yaml mounts the
 * `ratelimit-config` ConfigMap at /data/ratelimit/config; the replica's plan writes it under the
 * pod's root directory, names that root in SKIFF_POD_ROOT and rewrites env values naming a mount
 * path; items, subPath and secrets as the kubelet lays them out; a missing ConfigMap keeps the pods
 * waiting, named.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadText } from '../../src/config/load.js';
import { loadImageMap } from '../../src/runtime/image-map.js';
import { workloadPlan } from '../../src/runtime/plans.js';
import { desiredState } from '../../src/runtime/workload-spec.js';
import { podRoot, writeVolumes } from '../../src/runtime/volumes.js';

const CONFIG_MAP = `apiVersion: v1
kind: ConfigMap
metadata: { name: ratelimit-config }
data:
  config.yaml: |
    domain: ratelimit
  other.yaml: "x: 1"
---
apiVersion: v1
kind: Secret
metadata: { name: creds }
stringData: { token: s3cret }
`;

const deployment = (mounts: string, volumes: string, env = ''): string => `apiVersion: apps/v1
kind: Deployment
metadata: { name: ratelimit }
spec:
  selector: { matchLabels: { app: ratelimit } }
  template:
    metadata: { labels: { app: ratelimit } }
    spec:
      containers:
      - name: ratelimit
        image: docker.io/envoyproxy/ratelimit:30a4ce1a
        command: ["/bin/ratelimit"]
        env:
        - { name: RUNTIME_ROOT, value: /data }
        - { name: CONFIG_DIR, value: /data/ratelimit/config }
${env}        volumeMounts:
${mounts}
      volumes:
${volumes}
`;

function resources(yaml: string) {
  const r = loadText('m.yaml', yaml);
  assert.deepEqual(r.findings.filter((f) => f.severity === 'error'), []);
  return r.resources.map((x) => x.resource);
}

const IMAGES = loadImageMap(join(process.cwd(), 'samples', 'images.yaml'));

const ISTIO_MOUNT = '        - { name: config-volume, mountPath: /data/ratelimit/config }';
const ISTIO_VOLUME = '      - { name: config-volume, configMap: { name: ratelimit-config } }';

describe('configMap and secret volumes', () => {
  test('the ConfigMap is written under the pod root at its mount path; env naming the mount path points there', () => {
    const state = mkdtempSync(join(tmpdir(), 'skiff-vol-'));
    try {
      const { workloads } = desiredState(resources(`${CONFIG_MAP}---\n${deployment(ISTIO_MOUNT, ISTIO_VOLUME)}`), IMAGES, 1000);
      const spec = workloads[0];
      const plan = workloadPlan(spec, 'ratelimit-abc', { app: {}, mesh: {} }, { baseEnv: {}, stateDir: state, skiff: ['skiff'], controlPlaneUrl: 'http://x' });
      const root = podRoot(state, 'default', 'ratelimit-abc');
      assert.equal(plan.app?.env.SKIFF_POD_ROOT, root);
      assert.equal(plan.app?.env.CONFIG_DIR, join(root, 'data/ratelimit/config'), 'a value naming the mount path is its real directory');
      assert.equal(plan.app?.env.RUNTIME_ROOT, '/data', 'a value above the mount is left for SKIFF_POD_ROOT');
      writeVolumes(plan.app.files!.root, plan.app.files!.volumes);
      const dir = join(root, 'data', 'ratelimit', 'config');
      assert.deepEqual(readdirSync(dir).sort(), ['config.yaml', 'other.yaml']);
      assert.equal(readFileSync(join(dir, 'config.yaml'), 'utf8'), 'domain: ratelimit\n');
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });

  test('items pick keys and paths, subPath mounts one file, secrets are decoded', () => {
    const mounts = ['        - { name: cm, mountPath: /etc/rl }', '        - { name: one, mountPath: /etc/one.yaml, subPath: config.yaml }', '        - { name: sec, mountPath: /var/secret }'].join('\n');
    const volumes = [
      '      - { name: cm, configMap: { name: ratelimit-config, items: [{ key: config.yaml, path: conf/main.yaml }] } }',
      '      - { name: one, configMap: { name: ratelimit-config } }',
      '      - { name: sec, secret: { secretName: creds } }',
    ].join('\n');
    const { workloads } = desiredState(resources(`${CONFIG_MAP}---\n${deployment(mounts, volumes)}`), IMAGES, 1000);
    assert.deepEqual(
      workloads[0].volumes.map((v) => [v.mountPath, v.files.map((f) => [f.path, f.content])]),
      [
        ['/etc/rl', [['conf/main.yaml', 'domain: ratelimit\n']]],
        ['/etc/one.yaml', [['', 'domain: ratelimit\n']]],
        ['/var/secret', [['token', 's3cret']]],
      ],
    );
  });

  test('a missing ConfigMap leaves the pods waiting, named with the workload and mount; an optional one is skipped', () => {
    const missing = desiredState(resources(deployment(ISTIO_MOUNT, ISTIO_VOLUME)), IMAGES, 1000);
    assert.deepEqual(missing.workloads, []);
    assert.match(
      missing.waiting[0]?.message ?? '',
      /spec\.template\.spec\.containers\[0\]\.volumeMounts\[0\] \(volume config-volume\): ConfigMap default\/ratelimit-config not found; apply it before the workload/,
    );
    const optional = desiredState(resources(deployment(ISTIO_MOUNT, '      - { name: config-volume, configMap: { name: ratelimit-config, optional: true } }')), IMAGES, 1000);
    assert.deepEqual(optional.workloads[0].volumes, []);
  });
});
