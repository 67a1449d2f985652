/**
 * The ingress gateway the runtime runs: a proxy of kind gateway in `istio-system` with the
 * labels Istio's ingress gateway carries, so Gateway resources selecting `istio: ingressgateway`
 * bind to it, and the map from Gateway server ports to the local ports it listens on.
 */
import { templateHash } from './pod-names.js';
import type { ReplicaPlan } from './replica-plan.js';
import type { GatewayTarget } from './types.js';

export const GATEWAY_NAME = 'istio-ingressgateway';
export const GATEWAY_NAMESPACE = 'istio-system';
export const GATEWAY_ID = `${GATEWAY_NAME}.${GATEWAY_NAMESPACE}`;
export const GATEWAY_SERVICE_ACCOUNT = `${GATEWAY_NAME}-service-account`;
export const GATEWAY_LABELS: Readonly<Record<string, string>> = { istio: 'ingressgateway', app: GATEWAY_NAME };

/**
 * Gateway server port → local port: 80 and 8080 (the ports Istio's samples' Gateways use) on the
 * ingress port, 443 and 8443 on `extra[443]` (default 8443), then every extra port as given.
 */
export function ingressPortMap(ingressPort: number, extra: Readonly<Record<number, number>> = {}): Record<number, number> {
  const https = extra[443] ?? 8443;
  return { 80: ingressPort, 8080: ingressPort, 443: https, 8443: https, ...extra };
}

export function gatewayTarget(portMap: Record<number, number>): GatewayTarget {
  return { id: GATEWAY_ID, name: GATEWAY_NAME, namespace: GATEWAY_NAMESPACE, labels: { ...GATEWAY_LABELS }, listenAddress: '127.0.0.1', portMap };
}

/** The gateway pod: a proxy and no app. */
export function gatewayPlan(name: string, portMap: Record<number, number>, proxyArgv: string[], graceMs: number): ReplicaPlan {
  return {
    name,
    namespace: GATEWAY_NAMESPACE,
    kind: 'gateway',
    owner: `Gateway/${GATEWAY_NAMESPACE}/${GATEWAY_NAME}`,
    deployment: GATEWAY_NAME,
    hash: gatewayHash(portMap),
    labels: { ...GATEWAY_LABELS },
    serviceAccount: GATEWAY_SERVICE_ACCOUNT,
    containerPorts: [],
    proxyArgv,
    proxyId: GATEWAY_ID,
    graceMs,
    execEnv: {},
    tools: {},
  };
}

export function gatewayHash(portMap: Record<number, number>): string {
  return templateHash({ gateway: GATEWAY_ID, portMap });
}
