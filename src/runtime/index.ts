/** The local runtime: Kubernetes-style workloads as local processes, each replica with its sidecar. */
export { createLocalRuntime } from './local-runtime.js';
export type { GatewayTarget, ImageMap, LocalRuntime, LocalRuntimeOptions, PodPhase, PodPorts, PodStatus } from './types.js';
export { COMMAND_ANNOTATION, ContainerConfigError } from './command.js';
export type { WaitingReason } from './command.js';
export { GATEWAY_ID, GATEWAY_LABELS, GATEWAY_NAME, GATEWAY_NAMESPACE, ingressPortMap } from './gateway.js';
export { logFilePath, podsFile, readPodsFile } from './state-file.js';
export type { PodRecord, RuntimeStateFile } from './state-file.js';
export { loadImageMap } from './image-map.js';
