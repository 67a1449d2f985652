/**
 * ServiceEntry (networking.istio.io): the schema and TypeScript types of its spec, named as in
 * Istio's service_entry.proto. Rules: `rules/service-entry.ts`.
 */
import type { Static } from 'typebox';
import { Enum, List, Opt, Str, StringList, Strict, UInt32 } from '../../schema-kit.js';
import { ExportTo, WorkloadSelector } from './common.js';
import { WORKLOAD_ENTRY_VALIDATIONS, workloadEntryFields } from './workload-entry.js';

const PORT_RANGE = [{ rule: '0 < self && self <= 65535', message: 'port must be between 1-65535' }];

export const ServicePort = Strict(
  {
    number: UInt32({ description: 'Port number.', 'x-kubernetes-validations': PORT_RANGE }),
    protocol: Opt(Str({ description: 'HTTP, HTTPS, HTTP2, GRPC, MONGO, TCP or TLS.', maxLength: 256 })),
    name: Str({ description: 'Port name (unique within the ServiceEntry).', maxLength: 256 }),
    targetPort: Opt(UInt32({ description: 'Port on the endpoints receiving the traffic.', 'x-kubernetes-validations': PORT_RANGE })),
  },
  { description: 'A port of the service.' },
);
export type ServicePort = Static<typeof ServicePort>;

export const ServiceEntryEndpoint = Strict(workloadEntryFields, {
  description: 'An endpoint of the service.',
  'x-kubernetes-validations': WORKLOAD_ENTRY_VALIDATIONS,
});

export const SERVICE_ENTRY_RESOLUTIONS = ['NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN', 'DYNAMIC_DNS'] as const;

export const ServiceEntrySpec = Strict(
  {
    hosts: List(Str({ 'x-kubernetes-validations': [{ rule: 'self != "*"', message: 'hostname cannot be wildcard' }] }), {
      description: 'Hosts of the service (DNS names, wildcards allowed).',
      minItems: 1,
      maxItems: 256,
    }),
    addresses: Opt(List(Str({ maxLength: 64 }), { description: 'Virtual IPs or CIDR blocks of the service.', maxItems: 256 })),
    ports: Opt(
      List(ServicePort, {
        description: 'Ports of the service.',
        maxItems: 256,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
        'x-kubernetes-validations': [
          { rule: 'self.all(l1, self.exists_one(l2, l1.number == l2.number))', message: 'port number cannot be duplicated' },
        ],
      }),
    ),
    location: Opt(Enum(['MESH_EXTERNAL', 'MESH_INTERNAL'] as const, { description: 'Outside (default) or part of the mesh.' })),
    resolution: Opt(Enum(SERVICE_ENTRY_RESOLUTIONS, { description: 'How endpoint addresses are found (default NONE).' })),
    endpoints: Opt(List(ServiceEntryEndpoint, { description: 'Endpoints of the service.', maxItems: 4096 })),
    workloadSelector: Opt(WorkloadSelector),
    exportTo: Opt(ExportTo('ServiceEntry')),
    subjectAltNames: Opt(StringList({ description: 'Accepted subject alternative names of the servers.' })),
  },
  {
    description: 'Adds a service to the mesh service registry.',
    'x-kubernetes-validations': [
      {
        rule: '(has(self.workloadSelector) ? 1 : 0) + (has(self.endpoints) ? 1 : 0) <= 1',
        message: 'only one of WorkloadSelector or Endpoints can be set',
      },
      {
        rule: '!((has(self.addresses) ? self.addresses : []).exists(k, k.contains("/")) && !((has(self.resolution) ? self.resolution : "NONE") in ["STATIC", "NONE"]))',
        message: 'CIDR addresses are allowed only for NONE/STATIC resolution types',
      },
      {
        rule: '((has(self.resolution) ? self.resolution : "NONE") == "NONE") ? !has(self.endpoints) : true',
        message: 'NONE mode cannot set endpoints',
      },
      {
        rule: '((has(self.resolution) ? self.resolution : "") == "DNS_ROUND_ROBIN") ? ((has(self.endpoints) ? self.endpoints : []).size() <= 1) : true',
        message: 'DNS_ROUND_ROBIN mode cannot have multiple endpoints',
      },
    ],
  },
);
export type ServiceEntrySpec = Static<typeof ServiceEntrySpec>;
