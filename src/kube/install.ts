/**
 * `skiff install` and `skiff uninstall` against the cluster of a kubeconfig: the objects of
 * `generateManifest` applied with server-side apply (field manager `skiff-install`, forced: the
 * installation owns them), so running it again changes nothing; then waiting for skiffd's
 * Deployment to have every replica ready. Uninstall deletes them in reverse order, keeping the
 * CRDs (and so every Istio resource) unless purged.
 */
import { KubeApiError } from './client.js';
import type { KubeClient } from './client.js';
import { SKIFFD_NAME } from './manifest.js';
import type { ManifestObject } from './manifest.js';

/** Where each kind of the manifest lives in the API. */
const RESOURCES: Readonly<Record<string, { prefix: string; plural: string }>> = {
  CustomResourceDefinition: { prefix: '/apis/apiextensions.k8s.io/v1', plural: 'customresourcedefinitions' },
  Namespace: { prefix: '/api/v1', plural: 'namespaces' },
  ServiceAccount: { prefix: '/api/v1', plural: 'serviceaccounts' },
  Service: { prefix: '/api/v1', plural: 'services' },
  ClusterRole: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'clusterroles' },
  ClusterRoleBinding: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'clusterrolebindings' },
  Role: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'roles' },
  RoleBinding: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'rolebindings' },
  Deployment: { prefix: '/apis/apps/v1', plural: 'deployments' },
  PodDisruptionBudget: { prefix: '/apis/policy/v1', plural: 'poddisruptionbudgets' },
  MutatingWebhookConfiguration: { prefix: '/apis/admissionregistration.k8s.io/v1', plural: 'mutatingwebhookconfigurations' },
  ValidatingWebhookConfiguration: { prefix: '/apis/admissionregistration.k8s.io/v1', plural: 'validatingwebhookconfigurations' },
};

export function objectPath(o: ManifestObject): string {
  const r = RESOURCES[o.kind];
  if (r === undefined) throw new Error(`the installation does not know where ${o.kind} ${o.metadata.name} goes`);
  const ns = o.metadata.namespace !== undefined ? `/namespaces/${o.metadata.namespace}` : '';
  return `${r.prefix}${ns}/${r.plural}/${o.metadata.name}`;
}

/** `deployment.apps/skiffd`, as kubectl names what it applied. */
export function refOf(o: ManifestObject): string {
  const group = o.apiVersion.includes('/') ? o.apiVersion.slice(0, o.apiVersion.lastIndexOf('/')) : '';
  return `${o.kind.toLowerCase()}${group === '' ? '' : `.${group}`}/${o.metadata.name}`;
}

/** Applies every object in order; `report` gets one line each. */
export async function applyManifest(client: KubeClient, objects: readonly ManifestObject[], report: (line: string) => void): Promise<void> {
  for (const o of objects) {
    const before = await client.request<{ metadata: { resourceVersion?: string } }>('GET', objectPath(o)).catch((err: unknown) => {
      if (err instanceof KubeApiError && err.code === 404) return undefined;
      throw err;
    });
    const after = await client.request<{ metadata: { resourceVersion?: string } }>('PATCH', `${objectPath(o)}?fieldManager=skiff-install&force=true`, o, 'application/apply-patch+yaml');
    report(`${refOf(o)} ${before === undefined ? 'created' : before.metadata.resourceVersion === after.metadata.resourceVersion ? 'unchanged' : 'configured'}`);
  }
}

/** Waits until skiffd's Deployment has every replica ready; rejects with what it last saw. */
export async function waitForSkiffd(client: KubeClient, namespace: string, timeoutMs: number, pollMs = 1000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = 'not found';
  for (;;) {
    try {
      const d = await client.request<{ spec?: { replicas?: number }; status?: { readyReplicas?: number } }>('GET', `/apis/apps/v1/namespaces/${namespace}/deployments/${SKIFFD_NAME}`);
      const want = d.spec?.replicas ?? 1;
      const ready = d.status?.readyReplicas ?? 0;
      if (ready >= want) return;
      seen = `${ready} of ${want} replicas ready`;
    } catch (err) {
      if (!(err instanceof KubeApiError) || err.code !== 404) throw err;
    }
    if (Date.now() >= deadline) throw new Error(`skiffd is not ready after ${Math.round(timeoutMs / 1000)}s (deployment ${namespace}/${SKIFFD_NAME}: ${seen}); see kubectl -n ${namespace} describe deployment ${SKIFFD_NAME}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Deletes the installation's objects, newest first; the CRDs only when `purge`. */
export async function deleteManifest(client: KubeClient, objects: readonly ManifestObject[], purge: boolean, report: (line: string) => void): Promise<void> {
  for (const o of [...objects].reverse()) {
    if (o.kind === 'CustomResourceDefinition' && !purge) continue;
    try {
      await client.request('DELETE', objectPath(o));
      report(`${refOf(o)} deleted`);
    } catch (err) {
      if (!(err instanceof KubeApiError) || err.code !== 404) throw err;
    }
  }
}
