/**
 * Istio's checks of server-side TLS settings (Gateway servers and Sidecar ingress listeners):
 * which certificates each mode needs, and the credential fields that exclude each other.
 */
import type { ServerTLSSettings } from '../gateway.js';
import { at, type Findings, type Path } from './findings.js';

const set = (s: string | undefined): boolean => s !== undefined && s !== '';

export function checkServerTLS(tls: ServerTLSSettings | undefined, path: Path, f: Findings): void {
  if (tls === undefined) return;
  // protobuf default: an unset mode is PASSTHROUGH.
  const mode = tls.mode ?? 'PASSTHROUGH';
  if (tls.tlsCertificates !== undefined && tls.credentialNames !== undefined) f.error(path, 'only one of credentialNames or tlsCertificates can be set');
  if (tls.credentialName !== undefined && tls.credentialNames !== undefined) f.error(path, 'only one of credentialName or credentialNames can be set');
  if ((tls.minProtocolVersion === 'TLSV1_0' || tls.minProtocolVersion === 'TLSV1_1') && (tls.cipherSuites?.length ?? 0) === 0) {
    f.warn(at(path, 'minProtocolVersion'),
      'TLS version below TLSV1_2 require setting compatible ciphers as by default they no longer include compatible ciphers.');
  }
  const dupes = (tls.cipherSuites ?? []).filter((c, i, all) => all.indexOf(c) !== i);
  if (dupes.length > 0) f.warn(at(path, 'cipherSuites'), `ignoring duplicate cipher suites: [${[...new Set(dupes)].sort().join(' ')}]`);

  if (mode === 'ISTIO_MUTUAL') {
    // Istio's own certificates are used; any other source is a contradiction.
    if (set(tls.serverCertificate)) f.error(at(path, 'serverCertificate'), 'ISTIO_MUTUAL TLS cannot have associated server certificate');
    if (set(tls.privateKey)) f.error(at(path, 'privateKey'), 'ISTIO_MUTUAL TLS cannot have associated private key');
    if (set(tls.caCertificates)) f.error(at(path, 'caCertificates'), 'ISTIO_MUTUAL TLS cannot have associated CA bundle');
    if (set(tls.credentialName)) f.error(at(path, 'credentialName'), 'ISTIO_MUTUAL TLS cannot have associated credentialName');
    return;
  }
  if (mode === 'PASSTHROUGH' || mode === 'AUTO_PASSTHROUGH') {
    if (set(tls.caCrl) || set(tls.serverCertificate) || set(tls.privateKey) || set(tls.caCertificates) || set(tls.credentialName)) {
      f.warn(path, `${mode} mode does not use certificates, they will be ignored`);
    }
  }
  const fromSecret = set(tls.credentialName) || (tls.credentialNames?.length ?? 0) > 0;
  if ((mode === 'SIMPLE' || mode === 'MUTUAL' || mode === 'OPTIONAL_MUTUAL') && fromSecret) {
    // Credentials are fetched from the secret(s); no files are needed.
    return;
  }
  const certs = tls.tlsCertificates ?? [{ serverCertificate: tls.serverCertificate, privateKey: tls.privateKey, caCertificates: tls.caCertificates }];
  const certPath = (i: number, field: string): Path => (tls.tlsCertificates ? at(path, 'tlsCertificates', i, field) : at(path, field));
  if (mode === 'SIMPLE' || mode === 'MUTUAL' || mode === 'OPTIONAL_MUTUAL') {
    const label = mode === 'SIMPLE' ? 'SIMPLE' : 'MUTUAL';
    certs.forEach((c, i) => {
      if (!set(c.serverCertificate)) f.error(certPath(i, 'serverCertificate'), `${label} TLS requires a server certificate`);
      if (!set(c.privateKey)) f.error(certPath(i, 'privateKey'), `${label} TLS requires a private key`);
    });
    const hasCA = set(tls.caCertificates) || set(tls.caCertCredentialName) || certs.some((c) => set(c.caCertificates));
    if (mode !== 'SIMPLE' && !hasCA) f.error(at(path, 'caCertificates'), 'MUTUAL TLS requires a client CA bundle');
  }
  if (set(tls.caCrl)) {
    if (set(tls.credentialName)) f.error(at(path, 'caCrl'), 'CRL is not supported with credentialName. CRL has to be specified in the credential');
    if (mode === 'SIMPLE') f.error(at(path, 'caCrl'), 'CRL is not supported with SIMPLE TLS');
  }
}
