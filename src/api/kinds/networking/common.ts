/**
 * Schema pieces shared by several networking.istio.io kinds: destinations, string matches,
 * percentages, workload selectors and the durations Istio requires to be at least 1ms.
 */
import Type from 'typebox';
import type { Static, TUnsafe } from 'typebox';
import { Double, Duration, MapOf, OneOf, Opt, Regex, Str, StringList, Strict, UInt32 } from '../../schema-kit.js';

export const API_GROUP = 'networking.istio.io';
/** Served versions (same schema); the first is the storage version, as in Istio's CRDs. */
export const API_VERSIONS = ['v1', 'v1beta1', 'v1alpha3'] as const;

/** The CEL rule Istio's CRDs put on durations that must be at least 1ms (checked by `rules/durations.ts`). */
export const MIN_1MS_VALIDATION = {
  rule: "duration(self) >= duration('1ms')",
  message: 'must be a valid duration greater than 1ms',
} as const;

/** A duration that must be at least 1ms. */
export function Duration1ms(description: string): ReturnType<typeof Duration> {
  return Duration({ description, 'x-kubernetes-validations': [MIN_1MS_VALIDATION] });
}

/**
 * A protobuf wrapper field (BoolValue, UInt32Value, DoubleValue): YAML may say `null`, which means
 * unset, so the type admits null.
 */
export function Nullable<T>(schema: TUnsafe<T>): TUnsafe<T | null> {
  return Type.Unsafe<T | null>({ ...schema, nullable: true });
}

export const PortSelector = Strict(
  { number: Opt(UInt32({ description: 'Port number on the destination host.' })) },
  { description: 'A port on the destination host.' },
);
export type PortSelector = Static<typeof PortSelector>;

export const Destination = Strict(
  {
    host: Str({ description: 'Service name from the service registry (short name, FQDN or ServiceEntry host).' }),
    subset: Opt(Str({ description: 'Name of a subset defined in the DestinationRule for the host.' })),
    port: Opt(PortSelector),
  },
  { description: 'A service (and optionally subset and port) to send traffic to.' },
);
export type Destination = Static<typeof Destination>;

export const Percent = Strict(
  { value: Opt(Double({ description: 'Percentage in the range 0.0 to 100.0.' })) },
  { description: 'A percentage.' },
);
export type Percent = Static<typeof Percent>;

/** Exactly one of exact/prefix/regex; an empty object means "present" where Istio allows it (headers). */
export const StringMatch = OneOf(
  Strict(
    {
      exact: Opt(Str({ description: 'Exact string match.' })),
      prefix: Opt(Str({ description: 'Prefix match.' })),
      regex: Opt(Regex({ description: 'RE2 regular expression matching the whole value.' })),
    },
    { description: 'How a string is matched.' },
  ),
  [['exact', 'prefix', 'regex']],
);
export type StringMatch = Static<typeof StringMatch>;

/** Networking workload selector (`labels`), as Gateway-less kinds such as Sidecar and ServiceEntry use. */
export const WorkloadSelector = Strict(
  {
    labels: Opt(
      MapOf(
        Str({
          maxLength: 63,
          'x-kubernetes-validations': [{ rule: '!self.contains("*")', message: 'wildcard is not supported in selector' }],
        }),
        { description: 'Labels selecting the pods/VMs this configuration applies to.', maxProperties: 256 },
      ),
    ),
  },
  { description: 'Selects the workloads the configuration applies to.' },
);
export type WorkloadSelector = Static<typeof WorkloadSelector>;

/** istio.type.v1beta1.WorkloadSelector (`matchLabels`), used by DestinationRule. */
export const TypeWorkloadSelector = Strict(
  {
    matchLabels: Opt(
      MapOf(
        Str({
          maxLength: 63,
          'x-kubernetes-validations': [{ rule: '!self.contains("*")', message: 'wildcard not allowed in label value match' }],
        }),
        {
          description: 'Labels selecting the pods/VMs this policy applies to.',
          maxProperties: 4096,
          'x-kubernetes-validations': [
            { rule: 'self.all(key, !key.contains("*"))', message: 'wildcard not allowed in label key match' },
            { rule: 'self.all(key, key.size() != 0)', message: 'key must not be empty' },
          ],
        },
      ),
    ),
  },
  { description: 'Selects the workloads the policy applies to.' },
);
export type TypeWorkloadSelector = Static<typeof TypeWorkloadSelector>;

export function ExportTo(kind: string): ReturnType<typeof StringList> {
  return StringList({
    description: `Namespaces this ${kind} is exported to: "." (own namespace), "*" (all) or namespace names.`,
  });
}
