/**
 * The control plane's translation from Istio config and the service registry to proxy snapshots.
 */
export { translate, translateFor, contentVersion } from './translate.js';
export { buildConfigIndex, ConfigIndex } from './push-context.js';
export { DEFAULT_MESH_OPTIONS, gatewayPortMap } from './types.js';
export type { GatewayPorts, GatewayTarget, MeshOptions, MeshTelemetry, ProxyTarget, SidecarTarget, TranslateInput } from './types.js';
export { telemetryLevels, telemetrySection } from './telemetry.js';
export { BLACKHOLE_CLUSTER, PASSTHROUGH_CLUSTER, inboundClusterName, outboundClusterName } from './clusters.js';
export { OUTBOUND_LISTENER, OUTBOUND_ROUTE_CONFIG } from './sidecar-outbound.js';
