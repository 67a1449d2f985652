/**
 * The resource types the fake API server serves and its discovery documents (`/api`, `/apis`,
 * `/api/v1`, `/apis/<group>/<version>`), in the legacy (non-aggregated) form kubectl falls back
 * to. Built-in types are listed here; a CustomResourceDefinition created on the server adds its
 * type, as the real API server does once the CRD is established.
 */

export interface ResourceType {
  group: string;
  version: string;
  /** Plural, lower case: the path segment. */
  resource: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** Verbs discovery announces (a create-only kind such as TokenReview has only `create`). */
  verbs?: string[];
  /** Has a `status` subresource. */
  status?: boolean;
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

const t = (group: string, version: string, resource: string, kind: string, namespaced: boolean, extra: Partial<ResourceType> = {}): ResourceType => ({
  group,
  version,
  resource,
  kind,
  namespaced,
  ...extra,
});

/** Kubernetes' own types the mesh and kubectl use. */
export const BUILTIN_TYPES: readonly ResourceType[] = [
  t('', 'v1', 'namespaces', 'Namespace', false, { shortNames: ['ns'], status: true }),
  t('', 'v1', 'services', 'Service', true, { shortNames: ['svc'], categories: ['all'], status: true }),
  t('', 'v1', 'endpoints', 'Endpoints', true, { shortNames: ['ep'] }),
  t('', 'v1', 'pods', 'Pod', true, { shortNames: ['po'], categories: ['all'], status: true }),
  t('', 'v1', 'configmaps', 'ConfigMap', true, { shortNames: ['cm'] }),
  t('', 'v1', 'secrets', 'Secret', true),
  t('', 'v1', 'serviceaccounts', 'ServiceAccount', true, { shortNames: ['sa'] }),
  t('', 'v1', 'events', 'Event', true, { shortNames: ['ev'] }),
  t('apps', 'v1', 'deployments', 'Deployment', true, { shortNames: ['deploy'], categories: ['all'], status: true }),
  t('apps', 'v1', 'replicasets', 'ReplicaSet', true, { shortNames: ['rs'], categories: ['all'], status: true }),
  t('apps', 'v1', 'daemonsets', 'DaemonSet', true, { shortNames: ['ds'], categories: ['all'], status: true }),
  t('apps', 'v1', 'statefulsets', 'StatefulSet', true, { shortNames: ['sts'], categories: ['all'], status: true }),
  t('batch', 'v1', 'jobs', 'Job', true, { categories: ['all'], status: true }),
  t('batch', 'v1', 'cronjobs', 'CronJob', true, { shortNames: ['cj'], categories: ['all'], status: true }),
  t('discovery.k8s.io', 'v1', 'endpointslices', 'EndpointSlice', true),
  t('policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget', true, { shortNames: ['pdb'], status: true }),
  t('rbac.authorization.k8s.io', 'v1', 'clusterroles', 'ClusterRole', false),
  t('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', 'ClusterRoleBinding', false),
  t('rbac.authorization.k8s.io', 'v1', 'roles', 'Role', true),
  t('rbac.authorization.k8s.io', 'v1', 'rolebindings', 'RoleBinding', true),
  t('admissionregistration.k8s.io', 'v1', 'mutatingwebhookconfigurations', 'MutatingWebhookConfiguration', false),
  t('admissionregistration.k8s.io', 'v1', 'validatingwebhookconfigurations', 'ValidatingWebhookConfiguration', false),
  t('apiextensions.k8s.io', 'v1', 'customresourcedefinitions', 'CustomResourceDefinition', false, { shortNames: ['crd', 'crds'], status: true }),
  t('authentication.k8s.io', 'v1', 'tokenreviews', 'TokenReview', false, { verbs: ['create'] }),
];

/** The types a CRD object declares (one per served version). */
export function typesOfCrd(crd: Record<string, unknown>): ResourceType[] {
  const spec = (crd.spec ?? {}) as {
    group?: string;
    scope?: string;
    names?: { plural?: string; kind?: string; shortNames?: string[]; categories?: string[] };
    versions?: Array<{ name: string; served?: boolean; subresources?: { status?: unknown } }>;
  };
  if (spec.group === undefined || spec.names?.plural === undefined || spec.names.kind === undefined) return [];
  return (spec.versions ?? [])
    .filter((v) => v.served !== false)
    .map((v) => ({
      group: spec.group!,
      version: v.name,
      resource: spec.names!.plural!,
      kind: spec.names!.kind!,
      namespaced: spec.scope !== 'Cluster',
      ...(spec.names!.shortNames !== undefined ? { shortNames: spec.names!.shortNames } : {}),
      ...(spec.names!.categories !== undefined ? { categories: spec.names!.categories } : {}),
      status: v.subresources?.status !== undefined,
    }));
}

export function groupVersion(rt: Pick<ResourceType, 'group' | 'version'>): string {
  return rt.group === '' ? rt.version : `${rt.group}/${rt.version}`;
}

/** `/api` */
export function apiVersions(): object {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
}

/** `/apis`: every group but core, with its versions (the first is preferred). */
export function apiGroupList(types: readonly ResourceType[]): object {
  const groups = new Map<string, string[]>();
  for (const rt of types) {
    if (rt.group === '') continue;
    const versions = groups.get(rt.group) ?? [];
    if (!versions.includes(rt.version)) versions.push(rt.version);
    groups.set(rt.group, versions);
  }
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groups].map(([name, versions]) => {
      const vs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
      return { name, versions: vs, preferredVersion: vs[0] };
    }),
  };
}

/** `/api/v1` or `/apis/<group>/<version>`, or undefined when nothing is served there. */
export function apiResourceList(types: readonly ResourceType[], group: string, version: string): object | undefined {
  const here = types.filter((rt) => rt.group === group && rt.version === version);
  if (here.length === 0) return undefined;
  const resources: object[] = [];
  for (const rt of here) {
    resources.push({
      name: rt.resource,
      singularName: rt.kind.toLowerCase(),
      namespaced: rt.namespaced,
      kind: rt.kind,
      verbs: rt.verbs ?? ALL_VERBS,
      ...(rt.shortNames !== undefined ? { shortNames: rt.shortNames } : {}),
      ...(rt.categories !== undefined ? { categories: rt.categories } : {}),
    });
    if (rt.status === true) resources.push({ name: `${rt.resource}/status`, singularName: '', namespaced: rt.namespaced, kind: rt.kind, verbs: ['get', 'patch', 'update'] });
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupVersion({ group, version }), resources };
}

/** The OpenAPI v3 group-version path of a type (`api/v1`, `apis/apps/v1`). */
export function openApiPath(gv: Pick<ResourceType, 'group' | 'version'>): string {
  return gv.group === '' ? `api/${gv.version}` : `apis/${gv.group}/${gv.version}`;
}

/** `/openapi/v3`: one entry per served group-version, each pointing at its document. */
export function openApiRoot(types: readonly ResourceType[], hash: string): object {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const rt of types) {
    const p = openApiPath(rt);
    paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${hash}` };
  }
  return { paths };
}

/**
 * `/openapi/v3/<group-version>`: as much of the real document as kubectl reads. kubectl 1.32's
 * apply validates with `--validate=strict` by default and asks first whether the server validates
 * fields itself: it looks for the `fieldValidation` parameter on the PATCH operation tagged with the
 * kind's `x-kubernetes-group-version-kind` (for a custom resource whose group-version has no
 * document, on CustomResourceDefinition's). Finding it, kubectl sends `fieldValidation=Strict` and
 * needs no schema of its own; without any document it refuses to apply ("failed to download
 * openapi").
 */
export function openApiDocument(types: readonly ResourceType[], group: string, version: string): object | undefined {
  const here = types.filter((rt) => rt.group === group && rt.version === version);
  if (here.length === 0) return undefined;
  const base = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
  const params = ['dryRun', 'fieldManager', 'fieldValidation', 'force'].map((name) => ({ name, in: 'query', schema: { type: name === 'force' ? 'boolean' : 'string', uniqueItems: true } }));
  const paths: Record<string, object> = {};
  for (const rt of here) {
    const gvk = { group, version, kind: rt.kind };
    const item = rt.namespaced ? `${base}/namespaces/{namespace}/${rt.resource}/{name}` : `${base}/${rt.resource}/{name}`;
    const collection = rt.namespaced ? `${base}/namespaces/{namespace}/${rt.resource}` : `${base}/${rt.resource}`;
    const op = (id: string): object => ({ operationId: id, 'x-kubernetes-action': id, 'x-kubernetes-group-version-kind': gvk, parameters: params, responses: { '200': { description: 'OK' } } });
    paths[item] = { get: op('get'), put: op('put'), patch: op('patch'), delete: op('delete') };
    paths[collection] = { get: op('list'), post: op('post') };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths, components: { schemas: {} } };
}
