/** The Kubernetes kinds the local runtime runs: Namespace, ServiceAccount, Service, Pod, ConfigMap, Secret, Deployment. */
import type { KindDef } from '../../types.js';
import { configMap, namespace, secret, service, serviceAccount } from './core.js';
import { deployment, pod } from './workloads.js';

export const kubeKinds: KindDef[] = [namespace, serviceAccount, service, pod, configMap, secret, deployment];
export { configMap, deployment, namespace, pod, secret, service, serviceAccount };
export type { ServiceSpec } from './core.js';
export type { DeploymentSpec, LabelSelector } from './workloads.js';
export { selectorMatches } from './workloads.js';
export type { PodSpec, PodTemplateSpec } from './pod.js';
export type { Container, Probe } from './container.js';
