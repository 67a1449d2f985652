/**
 * WorkloadEntry (networking.istio.io): a non-Kubernetes workload (VM, process) with its address,
 * ports and labels; also the shape of ServiceEntry endpoints. Rules: `rules/workload-entry.ts`.
 */
import type { Static } from 'typebox';
import { MapOf, Opt, Str, StringMap, Strict, UInt32 } from '../../schema-kit.js';

/** Fields and CEL rules shared by WorkloadEntry specs and ServiceEntry endpoints. */
export const workloadEntryFields = {
  address: Opt(
    Str({
      description: 'IP, DNS name or unix:// socket path of the workload.',
      maxLength: 256,
      'x-kubernetes-validations': [
        {
          rule: 'self.startsWith("unix://") ? (self.substring(7, 8) == "/" || self.substring(7, 8) == "@") : true',
          message: 'UDS must be an absolute path or abstract socket',
        },
        { rule: 'self.startsWith("unix://") ? !self.endsWith("/") : true', message: 'UDS may not be a dir' },
      ],
    }),
  ),
  ports: Opt(
    MapOf(
      UInt32({ 'x-kubernetes-validations': [{ rule: '0 < self && self <= 65535', message: 'port must be between 1-65535' }] }),
      {
        description: 'Service port name to the port the workload listens on.',
        maxProperties: 128,
        'x-kubernetes-validations': [
          {
            rule: 'self.all(key, size(key) < 63 && key.matches("^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$"))',
            message: 'port name must be valid',
          },
        ],
      },
    ),
  ),
  labels: Opt(StringMap({ description: 'Labels of the workload.', maxProperties: 256 })),
  network: Opt(Str({ description: 'Network (L3 domain) of the workload.', maxLength: 2048 })),
  locality: Opt(Str({ description: 'Locality region/zone/subzone.', maxLength: 2048 })),
  weight: Opt(UInt32({ description: 'Load balancing weight.' })),
  serviceAccount: Opt(Str({ description: 'Service account of the workload (its identity).', maxLength: 253 })),
};

export const WORKLOAD_ENTRY_VALIDATIONS = [
  { rule: 'has(self.address) || has(self.network)', message: 'Address is required' },
  {
    rule: '(has(self.address) ? self.address : "").startsWith("unix://") ? !has(self.ports) : true',
    message: 'UDS may not include ports',
  },
];

export const WorkloadEntrySpec = Strict(workloadEntryFields, {
  description: 'A workload outside Kubernetes that belongs to the mesh.',
  'x-kubernetes-validations': WORKLOAD_ENTRY_VALIDATIONS,
});
export type WorkloadEntrySpec = Static<typeof WorkloadEntrySpec>;
/** Istio names the message WorkloadEntry; ServiceEntry endpoints have this type. */
export type WorkloadEntry = WorkloadEntrySpec;
