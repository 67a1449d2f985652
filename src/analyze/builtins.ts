/**
 * What Skiff's runtime always provides, so analysis does not flag references to it: the ingress
 * gateway (namespace istio-system, labels `istio: ingressgateway` and `app: istio-ingressgateway`,
 * Service `istio-ingressgateway` on ports 80 and 443), as an Istio installation provides it.
 */

/** Istio's root namespace: policies there apply to the whole mesh. */
export const ROOT_NAMESPACE = 'istio-system';

export interface BuiltinWorkload {
  name: string;
  namespace: string;
  labels: Readonly<Record<string, string>>;
}

export const BUILTIN_WORKLOADS: readonly BuiltinWorkload[] = [
  { name: 'istio-ingressgateway', namespace: ROOT_NAMESPACE, labels: { app: 'istio-ingressgateway', istio: 'ingressgateway' } },
];

export interface BuiltinService {
  name: string;
  namespace: string;
  ports: readonly number[];
}

export const BUILTIN_SERVICES: readonly BuiltinService[] = [{ name: 'istio-ingressgateway', namespace: ROOT_NAMESPACE, ports: [80, 443] }];
