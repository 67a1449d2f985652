/**
 * The TLS a client sidecar (or gateway) originates towards a mesh service, as Istio decides it:
 *
 * - a DestinationRule `tls` with mode ISTIO_MUTUAL: mutual TLS with the workload certificate to
 *   every endpoint; DISABLE (or no mode): plaintext;
 * - no `tls` (automatic mutual TLS): ISTIO_MUTUAL to the endpoints that run a sidecar (`tlsMode`
 *   `istio`), plaintext to the others — unless the destination's namespace-wide or mesh-wide
 *   PeerAuthentication disables mTLS, which the client then honours with plaintext.
 *
 * The server's certificate must carry the SPIFFE id of one of the service accounts behind the
 * service (Istio's subjectAltNames for ISTIO_MUTUAL), unless the rule names its own. SNI and ALPN
 * are resolved by the snapshot (`withDefaults`): `outbound_.PORT_.SUBSET_.HOST` and Istio's lists.
 * SIMPLE and MUTUAL origination is decided elsewhere; here they yield nothing.
 */
import type { ClientTLSSettings } from '../../api/kinds/networking/destination-rule.js';
import type { ClusterTlsConfig, EndpointConfig } from '../../snapshot/index.js';
import { namespaceMtlsMode } from './peer-authentication.js';
import type { ConfigIndex } from './push-context.js';
import type { MeshService } from './services.js';

/** The service accounts (SPIFFE ids) of the endpoints `which` keeps, sorted, each once. */
function serviceAccounts(endpoints: readonly EndpointConfig[], which: (ep: EndpointConfig) => boolean): string[] {
  const out = new Set<string>();
  for (const ep of endpoints) if (ep.serviceAccount !== undefined && which(ep)) out.add(ep.serviceAccount);
  return [...out].sort();
}

function istioMutual(settings: ClientTLSSettings | undefined, sans: string[]): ClusterTlsConfig {
  const out: ClusterTlsConfig = { mode: 'ISTIO_MUTUAL' };
  const wanted = settings?.subjectAltNames !== undefined && settings.subjectAltNames.length > 0 ? [...settings.subjectAltNames] : sans;
  if (wanted.length > 0) out.subjectAltNames = wanted;
  if (settings?.sni !== undefined && settings.sni !== '') out.sni = settings.sni;
  return out;
}

/**
 * The cluster `tls` for a service's cluster with `endpoints` under the merged policy's `tls`;
 * undefined for plaintext (and for SIMPLE or MUTUAL, not decided here).
 */
export function meshClusterTls(index: ConfigIndex, svc: MeshService, settings: ClientTLSSettings | undefined, endpoints: readonly EndpointConfig[]): ClusterTlsConfig | undefined {
  // A `tls` block without a mode is DISABLE (the proto's default), not automatic.
  if (settings !== undefined) {
    if (settings.mode === 'ISTIO_MUTUAL') return istioMutual(settings, serviceAccounts(endpoints, () => true));
    return undefined;
  }
  const withSidecar = (ep: EndpointConfig): boolean => ep.tlsMode === 'istio';
  // Nothing to decide without an endpoint that has a sidecar: every connection is plaintext.
  if (!endpoints.some(withSidecar)) return undefined;
  if (svc.location === 'MESH_INTERNAL' && namespaceMtlsMode(index, svc.namespace) === 'DISABLE') return undefined;
  return { ...istioMutual(settings, serviceAccounts(endpoints, withSidecar)), autoMtls: true };
}
