export { CaError, CACERTS_FILES, DEFAULT_WORKLOAD_CERT_TTL_MS, MeshCa, caDir, spiffeId } from './mesh-ca.js';
export type { IssuedCertificate, WorkloadIdentity } from './mesh-ca.js';
export { BootstrapTokenAuthenticator, CsrAuthenticationError } from './authenticate.js';
export type { BootstrapTokenLookup, CsrAuthenticator, CsrCaller } from './authenticate.js';
export { WorkloadCertificates } from './workload-certificates.js';
export type { WorkloadCertificatesOptions } from './workload-certificates.js';
