/**
 * The JSON shapes of skiffd's HTTP API (`/api/v1/...`) and of the file that announces it
 * (`<state-dir>/skiffd.json`), shared by the server (`api.ts`, `skiffd.ts`) and the CLI. Lists
 * come as `{ items }` (resources), `{ pods }` and `{ proxies }`.
 */
import type { Resource } from '../api/types.js';
import type { InputText } from '../config/sources.js';
import type { ResourceId } from '../config/store-keys.js';
import type { PodStatus } from '../registry/workload-provider.js';

export type { ApplyResponse, DeleteResponse, AppliedItem, DeletedItem } from '../config/store-ops.js';
export type { PodStatus } from '../registry/workload-provider.js';

export const API_PREFIX = '/api/v1';

/** What a running skiffd writes to `<state-dir>/skiffd.json`. */
export interface SkiffdInfo {
  /** Base URL of the HTTP API, e.g. `http://127.0.0.1:15080`. */
  apiUrl: string;
  /** Base URL proxies connect to for their snapshots, e.g. `http://127.0.0.1:15010`. */
  pushUrl: string;
  /** Where the dashboard is served, e.g. `http://127.0.0.1:20001`; absent when it is not. */
  dashboardUrl?: string;
  pid: number;
}

/** POST /api/v1/apply. Files are sent as text so findings name them as the user wrote them. */
export interface ApplyRequest {
  files: InputText[];
  /** Namespace for namespaced resources that name none (default `default`). */
  namespace?: string;
}

/** POST /api/v1/delete: what the files name, and/or explicit identities. */
export interface DeleteRequest {
  files?: InputText[];
  targets?: ResourceId[];
  namespace?: string;
}

/** GET /api/v1/resources?kind=&group=&namespace=&name= (kind by name, plural or short name). */
export interface ResourceList {
  resourceVersion: number;
  items: Resource[];
}

/** GET /api/v1/pods: the local runtime's replicas (empty without a runtime). */
export interface PodList {
  pods: PodStatus[];
}

/** GET /api/v1/status: what `skiff up --detach` waits on and prints. */
export interface SkiffdStatus {
  /** skiffd's version (its installation's package version). */
  version: string;
  pid: number;
  stateDir: string;
  apiUrl: string;
  pushUrl: string;
  /** Where the ingress gateway listens, when the runtime runs one. */
  ingressUrl?: string;
  /** True when a local runtime runs the workloads. */
  runtime: boolean;
  /** Every pod (and the gateway) ready; always true without a runtime. */
  ready: boolean;
  pods: { total: number; ready: number };
  resourceVersion: number;
  startedAt: string;
  /** The mesh config in force and what was said about it. */
  meshConfig: MeshConfigStatus;
  /** Resources held but left out of every proxy's config (empty when all are in force). */
  leftOut: LeftOutEntry[];
}

/**
 * A resource skiffd holds but leaves out of every proxy's config, so that the rest of the mesh
 * keeps its config: one that fails its kind's schema (found when the store was read) or one that
 * translation cannot handle.
 */
export interface LeftOutEntry {
  /** `VirtualService default/reviews`. */
  resource: string;
  stage: 'validation' | 'translation';
  /** What is wrong with it. */
  reason: string;
  /** How to mend it. */
  mend: string;
}

/** Where the mesh config in force comes from (the `istio` ConfigMap's `mesh` key, read live). */
export interface MeshConfigStatus {
  /** `ConfigMap istio-system/istio`, or `defaults` when there is none (or it has no `mesh` key). */
  source: string;
  /** The ConfigMap's resourceVersion whose mesh config is in force. */
  resourceVersion?: string;
  /** Fields unknown or not acted on, in the mesh config in force. */
  warnings: string[];
  /** The latest change that was refused (malformed); the config above stays in force meanwhile. */
  rejected?: { resourceVersion?: string; errors: string[] };
}

/** The body of every error answer. Refused applies also carry `findings`. */
export interface ApiError {
  error: string;
}
