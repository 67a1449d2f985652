/** Kubernetes mode: the API client, informers, and the providers skiffd reads a cluster through. */
export { KubeClient, KubeApiError } from './client.js';
export type { KubeObject, WatchEvent, ListResult } from './client.js';
export { loadKubeconfig, inClusterConnection, resolveConnection, KubeconfigError } from './kubeconfig.js';
export type { KubeConnection } from './kubeconfig.js';
export { Informer } from './informer.js';
export type { InformerOptions, InformerStats } from './informer.js';
export { KubeConfigSource } from './config-source.js';
export type { KubeConfigSourceOptions } from './config-source.js';
export { KubeWorkloads, workloadOfPod } from './workloads.js';
export { configKinds } from './resources.js';
export { TokenReviewAuthenticator, TokenReviewError, ISTIO_CA_AUDIENCE } from './token-review.js';
