/**
 * Loads a translation test case from testdata/<case>/: `config.yaml` (Istio config, loaded and
 * validated as `skiff apply` would; `# include: <repo path>` lines pull in sample files),
 * `registry.json` (services from Kubernetes manifests via `serviceManifests`, plus `services`
 * and `workloads`; `include` merges other registry files), `proxy.json` (the target; a sidecar's
 * `workload` may be given as `namespace/name`), and optional `mesh.json`.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Resource } from '../../../src/api/types.js';
import { loadText } from '../../../src/config/load.js';
import type { MeshOptions, ProxyTarget } from '../../../src/controlplane/translate/index.js';
import { serviceFromResource } from '../../../src/registry/kube.js';
import type { RegistrySnapshot, Service, WorkloadInstance } from '../../../src/registry/types.js';
import { repoRoot } from '../../helpers/cli.js';

export const testdataDir = join(repoRoot, 'test', 'controlplane', 'translate', 'testdata');

export interface TranslateCase {
  name: string;
  dir: string;
  config: Resource[];
  registry: RegistrySnapshot;
  proxy: ProxyTarget;
  mesh?: Partial<MeshOptions>;
}

/** A ready sidecar workload serving port 9080, whose sidecar takes it on `meshPort`. */
export function sidecarWorkload(name: string, namespace: string, labels: Record<string, string>, meshPort: number): WorkloadInstance {
  return {
    name,
    namespace,
    labels,
    serviceAccount: 'default',
    address: '127.0.0.1',
    ready: true,
    meshPorts: { 9080: meshPort },
    appPorts: { 9080: 9080 },
    sidecar: { outboundPort: 15001, adminPort: 15000, proxyId: `${name}.${namespace}` },
  };
}

/** Loads YAML as a user's file: every error is a test failure naming file and line. */
export function loadYaml(file: string, text: string): Resource[] {
  const result = loadText(file, text);
  const errors = result.findings.filter((f) => f.severity === 'error');
  if (errors.length > 0) throw new Error(`${file}: invalid config:\n${errors.map((e) => `  ${e.file}:${e.line ?? 0}: ${e.message}`).join('\n')}`);
  return result.resources.map((lr) => lr.resource);
}

function loadConfig(file: string): Resource[] {
  const text = readFileSync(file, 'utf8');
  const out: Resource[] = [];
  for (const m of text.matchAll(/^# include: (\S+)\s*$/gm)) {
    const path = join(repoRoot, m[1]);
    out.push(...loadYaml(m[1], readFileSync(path, 'utf8')));
  }
  out.push(...loadYaml(file, text));
  // A later file's resource replaces an earlier one of the same kind, namespace and name, as `apply` does.
  const byKey = new Map<string, Resource>();
  for (const r of out) byKey.set(`${r.kind}/${r.metadata.namespace ?? ''}/${r.metadata.name}`, r);
  return [...byKey.values()];
}

interface RegistryFile {
  include?: string[];
  serviceManifests?: string[];
  services?: Service[];
  workloads?: WorkloadInstance[];
}

function loadRegistry(file: string): RegistrySnapshot {
  const spec = JSON.parse(readFileSync(file, 'utf8')) as RegistryFile;
  const out: RegistrySnapshot = { services: [], workloads: [] };
  for (const inc of spec.include ?? []) {
    const sub = loadRegistry(resolve(dirname(file), inc));
    out.services.push(...sub.services);
    out.workloads.push(...sub.workloads);
  }
  for (const manifest of spec.serviceManifests ?? []) {
    for (const r of loadYaml(manifest, readFileSync(join(repoRoot, manifest), 'utf8'))) {
      if (r.kind === 'Service' && r.apiVersion === 'v1') out.services.push(serviceFromResource(r));
    }
  }
  out.services.push(...(spec.services ?? []));
  out.workloads.push(...(spec.workloads ?? []));
  return out;
}

type ProxyFile = ProxyTarget | (Omit<ProxyTarget & { kind: 'sidecar' }, 'workload'> & { workload: string });

function loadProxy(file: string, registry: RegistrySnapshot): ProxyTarget {
  const p = JSON.parse(readFileSync(file, 'utf8')) as ProxyFile;
  if (p.kind === 'sidecar' && typeof p.workload === 'string') {
    const [ns, name] = p.workload.split('/');
    const w = registry.workloads.find((x) => x.namespace === ns && x.name === name);
    if (w === undefined) throw new Error(`${file}: no workload ${p.workload} in the registry`);
    return { ...p, workload: w };
  }
  return p as ProxyTarget;
}

export function loadCase(name: string): TranslateCase {
  const dir = join(testdataDir, name);
  const registry = loadRegistry(join(dir, 'registry.json'));
  const c: TranslateCase = {
    name,
    dir,
    config: loadConfig(join(dir, 'config.yaml')),
    registry,
    proxy: loadProxy(join(dir, 'proxy.json'), registry),
  };
  const meshFile = join(dir, 'mesh.json');
  if (existsSync(meshFile)) c.mesh = JSON.parse(readFileSync(meshFile, 'utf8')) as Partial<MeshOptions>;
  return c;
}

/** Every case directory (names starting with `_` hold shared files). */
export function caseNames(): string[] {
  return readdirSync(testdataDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('_'))
    .map((d) => d.name)
    .sort();
}
