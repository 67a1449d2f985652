/**
 * DestinationRule `tls` (Istio's `ClientTLSSettings`, already merged for the cluster's port and
 * subset by `destination-policy.ts`) → the cluster's upstream TLS in the snapshot:
 *
 * - DISABLE stays DISABLE (plaintext, whatever else would apply);
 * - SIMPLE and MUTUAL originate TLS: `sni` (default: the service's host when it is not a
 *   wildcard, which is what Envoy's auto SNI sends for Istio's egress TLS origination), the server
 *   checked against `subjectAltNames` (default: the SNI) and `caCertificates` (default: the
 *   system's roots), the client certificate and key for MUTUAL, `insecureSkipVerify`;
 * - `credentialName` takes certificate, key and CA certificates from a Secret in the proxy's own
 *   namespace, as Istio resolves it for sidecars and gateways (`src/config/tls-credentials.ts`):
 *   SIMPLE needs its CA certificates; MUTUAL its certificate and key, and the CA when it has one.
 *   They reach the proxy as named secrets (`kubernetes://NAME`, `kubernetes://NAME-cacert`);
 * - ISTIO_MUTUAL is left to automatic mutual TLS, which builds it from the workload identity.
 */
import type { ClientTLSSettings } from '../../api/kinds/networking/destination-rule.js';
import { resolveCredential, type SecretLookup } from '../../config/tls-credentials.js';
import type { ClusterTlsConfig, TlsSecret } from '../../snapshot/index.js';

/** A cluster's TLS, the named secrets it takes, or why it cannot be built. */
export type ClientTlsResult = { tls?: ClusterTlsConfig; secrets: TlsSecret[] } | { error: string };

export function clientTlsOf(settings: ClientTLSSettings | undefined, host: string, namespace: string, lookup: SecretLookup): ClientTlsResult {
  const mode = settings?.mode;
  if (settings === undefined || mode === undefined) return { secrets: [] };
  if (mode === 'DISABLE') return { tls: { mode }, secrets: [] };
  if (mode !== 'SIMPLE' && mode !== 'MUTUAL') return { secrets: [] };
  const tls: ClusterTlsConfig = { mode };
  const secrets: TlsSecret[] = [];
  const sni = settings.sni !== undefined && settings.sni !== '' ? settings.sni : host.startsWith('*') ? undefined : host;
  if (sni !== undefined) tls.sni = sni;
  if (settings.subjectAltNames !== undefined && settings.subjectAltNames.length > 0) tls.subjectAltNames = [...settings.subjectAltNames];
  if (settings.insecureSkipVerify === true) {
    tls.insecureSkipVerify = true;
    delete tls.subjectAltNames;
  }
  const credential = settings.credentialName;
  if (credential !== undefined && credential !== '') {
    const mutual = mode === 'MUTUAL';
    const found = resolveCredential(lookup, namespace, credential, { cert: mutual, ca: !mutual && tls.insecureSkipVerify !== true });
    if (!found.ok) return { error: `credentialName ${credential}: ${found.error}` };
    if (found.certificate !== undefined) {
      secrets.push(found.certificate);
      tls.clientCertificate = { secret: found.certificate.name };
      tls.privateKey = { secret: found.certificate.name };
    }
    let ca = found.ca;
    if (mutual && tls.insecureSkipVerify !== true) {
      // MUTUAL verifies the server against the credential's CA when it has one, else the system's roots.
      const withCa = resolveCredential(lookup, namespace, credential, { cert: false, ca: true });
      if (withCa.ok) ca = withCa.ca;
    }
    if (ca !== undefined) {
      secrets.push(ca);
      tls.caCertificates = { secret: ca.name };
    }
    return { tls, secrets };
  }
  if (settings.caCertificates !== undefined && settings.caCertificates !== '' && tls.insecureSkipVerify !== true) tls.caCertificates = { file: settings.caCertificates };
  if (settings.clientCertificate !== undefined && settings.clientCertificate !== '') tls.clientCertificate = { file: settings.clientCertificate };
  if (settings.privateKey !== undefined && settings.privateKey !== '') tls.privateKey = { file: settings.privateKey };
  return { tls, secrets };
}
