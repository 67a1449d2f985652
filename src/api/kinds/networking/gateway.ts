/**
 * Gateway (networking.istio.io): the schema and TypeScript types of its spec, named as in Istio's
 * gateway.proto. `Port` and `ServerTLSSettings` are shared with Sidecar. Rules: `rules/gateway.ts`.
 */
import type { Static } from 'typebox';
import { Bool, Enum, List, Opt, Str, StringList, StringMap, Strict, UInt32 } from '../../schema-kit.js';
import { Nullable } from './common.js';

export const Port = Strict(
  {
    number: UInt32({ description: 'Port number (0 only with a unix domain socket bind).' }),
    protocol: Str({ description: 'HTTP, HTTPS, GRPC, GRPC-WEB, HTTP2, MONGO, MYSQL, REDIS, TCP or TLS.' }),
    name: Str({ description: 'Port name (unique within the Gateway).' }),
    targetPort: Opt(UInt32({ description: 'Deprecated and without effect on Gateways.' })),
  },
  { description: 'Port a gateway server listens on.' },
);
export type Port = Static<typeof Port>;

export const SERVER_TLS_MODES = ['PASSTHROUGH', 'SIMPLE', 'MUTUAL', 'AUTO_PASSTHROUGH', 'ISTIO_MUTUAL', 'OPTIONAL_MUTUAL'] as const;
export const TLS_PROTOCOL_VERSIONS = ['TLS_AUTO', 'TLSV1_0', 'TLSV1_1', 'TLSV1_2', 'TLSV1_3'] as const;

export const TLSCertificate = Strict(
  {
    serverCertificate: Opt(Str({ description: 'Server certificate file.' })),
    privateKey: Opt(Str({ description: 'Private key file.' })),
    caCertificates: Opt(Str({ description: 'CA certificates file.' })),
  },
  { description: 'One certificate/key pair (for RSA and ECDSA side by side).' },
);
export type TLSCertificate = Static<typeof TLSCertificate>;

export const ServerTLSSettings = Strict(
  {
    httpsRedirect: Opt(Bool({ description: 'Redirect plain HTTP requests to HTTPS with 301.' })),
    mode: Opt(Enum(SERVER_TLS_MODES, { description: 'How TLS is handled (default PASSTHROUGH).' })),
    serverCertificate: Opt(Str({ description: 'Server certificate file (SIMPLE/MUTUAL without credentialName).' })),
    privateKey: Opt(Str({ description: 'Private key file (SIMPLE/MUTUAL without credentialName).' })),
    caCertificates: Opt(Str({ description: 'CA certificates file to verify clients (MUTUAL).' })),
    caCrl: Opt(Str({ description: 'Certificate revocation list file.' })),
    credentialName: Opt(Str({ description: 'Secret holding the certificate, key (and CA).' })),
    credentialNames: Opt(StringList({ description: 'Up to two secrets (RSA and ECDSA).', minItems: 1, maxItems: 2 })),
    tlsCertificates: Opt(List(TLSCertificate, { description: 'Up to two certificate files.', minItems: 1, maxItems: 2 })),
    caCertCredentialName: Opt(Str({ description: 'Secret or ConfigMap holding the client CA (MUTUAL).' })),
    subjectAltNames: Opt(StringList({ description: 'Accepted subject alternative names of clients.' })),
    verifyCertificateSpki: Opt(StringList({ description: 'Accepted base64 SHA-256 SPKI hashes of client certificates.' })),
    verifyCertificateHash: Opt(StringList({ description: 'Accepted hex SHA-256 hashes of client certificates.' })),
    minProtocolVersion: Opt(Enum(TLS_PROTOCOL_VERSIONS, { description: 'Minimum TLS version.' })),
    maxProtocolVersion: Opt(Enum(TLS_PROTOCOL_VERSIONS, { description: 'Maximum TLS version.' })),
    cipherSuites: Opt(StringList({ description: 'Allowed cipher suites.' })),
    ecdhCurves: Opt(StringList({ description: 'Allowed ECDH curves (for example X25519, P-256).' })),
    insecureSkipVerify: Opt(Nullable(Bool({ description: 'Accept client certificates that fail verification.' }))),
  },
  {
    description: 'TLS settings of a server.',
    'x-kubernetes-validations': [
      {
        rule: '(has(self.tlsCertificates) ? 1 : 0) + (has(self.credentialNames) ? 1 : 0) <= 1',
        message: 'only one of credentialNames or tlsCertificates can be set',
      },
      {
        rule: '(has(self.credentialName) ? 1 : 0) + (has(self.credentialNames) ? 1 : 0) <= 1',
        message: 'only one of credentialName or credentialNames can be set',
      },
      // Istio's CRD repeats the first rule under this message; kept so generated CRDs match Istio's.
      {
        rule: '(has(self.credentialNames) ? 1 : 0) + (has(self.tlsCertificates) ? 1 : 0) <= 1',
        message: 'only one of credentialName or tlsCertificates can be set',
      },
    ],
  },
);
export type ServerTLSSettings = Static<typeof ServerTLSSettings>;

export const Server = Strict(
  {
    port: Port,
    bind: Opt(Str({ description: 'IP or unix:// socket to listen on.' })),
    hosts: StringList({ description: 'Hosts exposed, as [namespace/]dnsName (wildcards allowed).' }),
    tls: Opt(ServerTLSSettings),
    defaultEndpoint: Opt(Str({ description: 'Unused by Istio gateways.' })),
    name: Opt(Str({ description: 'Optional server name, unique across servers.' })),
  },
  { description: 'A listener of the gateway and the hosts it exposes.' },
);
export type Server = Static<typeof Server>;

export const GatewaySpec = Strict(
  {
    servers: Opt(List(Server, { description: 'Listeners of the gateway.' })),
    selector: Opt(StringMap({ description: 'Labels of the gateway pods this configuration applies to.' })),
  },
  { description: 'A load balancer at the edge of the mesh.' },
);
export type GatewaySpec = Static<typeof GatewaySpec>;
