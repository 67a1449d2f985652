/**
 * telemetry.istio.io Telemetry (istio/api telemetry/v1alpha1/telemetry.proto): accepted, validated
 * and stored; Istio's ValidateTelemetry rules and the CRD's (tag overrides, ≥1ms intervals, one selector form) are enforced.
 */
import type { Static } from 'typebox';
import { Bool, Double, Duration, Enum, List, MapOf, OneOf, Opt, Str, Strict, parseDuration } from '../schema-kit.js';
import type { Issue, KindDef, Resource } from '../types.js';
import { PolicyTargetReference, WorkloadSelector, checkTargetRefs, checkWorkloadSelector } from './common.js';

const ProviderRef = Strict({ name: Str({ minLength: 1, description: 'Name of Telemetry provider in MeshConfig.' }) });
const WorkloadMode = Enum(['CLIENT_AND_SERVER', 'CLIENT', 'SERVER'] as const, {
  description: 'This determines whether or not to apply the tracing configuration for the workload mode.',
});
const nullableBool = (description: string): ReturnType<typeof Bool> => Bool({ nullable: true, description });

const CustomTag = OneOf(
  Strict({
    literal: Opt(Strict({ value: Str({ minLength: 1, description: 'The tag value to use.' }) })),
    environment: Opt(Strict({
      name: Str({ minLength: 1, description: 'Name of the environment variable from which to extract the tag value.' }),
      defaultValue: Opt(Str({ description: 'Optional.' })),
    })),
    header: Opt(Strict({
      name: Str({ minLength: 1, description: 'Name of the header from which to extract the tag value.' }),
      defaultValue: Opt(Str({ description: 'Optional.' })),
    })),
    formatter: Opt(Strict({ value: Str({ minLength: 1, description: 'The formatter tag value to use.' }) })),
  }),
  [['literal', 'environment', 'header', 'formatter']],
);

const Tracing = Strict({
  match: Opt(Strict({ mode: Opt(WorkloadMode) })),
  providers: Opt(List(ProviderRef, { description: 'Name of providers to which this configuration should apply.' })),
  randomSamplingPercentage: Opt(Double({ minimum: 0, maximum: 100, nullable: true, description: 'Controls the rate at which traffic will be selected for tracing.' })),
  disableSpanReporting: Opt(nullableBool('Controls span reporting.')),
  customTags: Opt(MapOf(CustomTag, { description: 'Optional.' })),
  useRequestIdForTraceSampling: Opt(nullableBool('Use the request ID to decide trace sampling.')),
  enableIstioTags: Opt(nullableBool('Add Istio-specific tags to spans.')),
  disableContextPropagation: Opt(nullableBool('Stop propagating trace context.')),
});

const MetricSelector = OneOf(
  Strict({
    metric: Opt(Enum([
      'ALL_METRICS', 'REQUEST_COUNT', 'REQUEST_DURATION', 'REQUEST_SIZE', 'RESPONSE_SIZE', 'TCP_OPENED_CONNECTIONS',
      'TCP_CLOSED_CONNECTIONS', 'TCP_SENT_BYTES', 'TCP_RECEIVED_BYTES', 'GRPC_REQUEST_MESSAGES', 'GRPC_RESPONSE_MESSAGES',
    ] as const, { description: 'One of the built-in metrics.' })),
    customMetric: Opt(Str({ minLength: 1, description: 'Allows free-form specification of a metric.' })),
    mode: Opt(WorkloadMode),
  }, { description: 'Match allows providing the scope of the override.' }),
  [['metric', 'customMetric']],
);

const TagOverride = Strict({
  operation: Opt(Enum(['UPSERT', 'REMOVE'] as const, { description: 'Operation controls whether or not to update/add a tag, or to remove it.' })),
  value: Opt(Str({ description: 'Value is only considered if the operation is `UPSERT`.' })),
});

const Metrics = Strict({
  providers: Opt(List(ProviderRef, { description: 'Name of providers to which this configuration should apply.' })),
  overrides: Opt(List(Strict({
    match: Opt(MetricSelector),
    disabled: Opt(nullableBool('Optional.')),
    tagOverrides: Opt(MapOf(TagOverride, { description: 'Optional.' })),
  }), { description: 'Optional.' })),
  reportingInterval: Opt(Duration({ description: 'Optional.' })),
});

const AccessLogging = Strict({
  match: Opt(Strict({ mode: Opt(WorkloadMode) })),
  providers: Opt(List(ProviderRef, { description: 'Name of providers to which this configuration should apply.' })),
  disabled: Opt(nullableBool('Controls logging.')),
  filter: Opt(Strict({ expression: Opt(Str({ description: 'CEL expression for selecting when requests/connections should be logged.' })) })),
});

export const TelemetrySpec = OneOf(
  Strict(
    {
      selector: Opt(WorkloadSelector),
      targetRef: Opt(PolicyTargetReference),
      targetRefs: Opt(List(PolicyTargetReference, { maxItems: 16 })),
      tracing: Opt(List(Tracing, { description: 'Optional.' })),
      metrics: Opt(List(Metrics, { description: 'Optional.' })),
      accessLogging: Opt(List(AccessLogging, { description: 'Optional.' })),
    },
    { description: 'Telemetry configuration for workloads.' },
  ),
  [['selector', 'targetRef', 'targetRefs']],
);
export type TelemetrySpec = Static<typeof TelemetrySpec>;

type Path = Array<string | number>;
const err = (path: Path, message: string): Issue => ({ severity: 'error', path, message });
const warn = (path: Path, message: string): Issue => ({ severity: 'warning', path, message });

/** Istio's validateTelemetryTracing: one tracing entry and provider in effect, usable custom tags. */
function tracingRules(tracing: NonNullable<TelemetrySpec['tracing']>, out: Issue[]): void {
  if (tracing.length > 1) out.push(warn(['spec', 'tracing'], 'multiple tracing is not currently supported'));
  tracing.forEach((t, i) => {
    if ((t.providers?.length ?? 0) > 1) out.push(warn(['spec', 'tracing', i, 'providers'], 'multiple providers is not currently supported'));
    for (const [name, tag] of Object.entries(t.customTags ?? {})) {
      const at: Path = ['spec', 'tracing', i, 'customTags', name];
      if (name === '') out.push(err(at, 'tag name may not be empty'));
      if (!tag.literal && !tag.environment && !tag.header && !tag.formatter) {
        out.push(err(at, `tag "${name}" needs one of literal, environment, header or formatter`));
      }
    }
  });
}

/** Istio's validateTelemetryMetrics: tag overrides (UPSERT is the default operation) and intervals. */
function metricsRules(metrics: NonNullable<TelemetrySpec['metrics']>, out: Issue[]): void {
  metrics.forEach((m, i) => {
    const ms = m.reportingInterval === undefined ? undefined : parseDuration(m.reportingInterval);
    if (ms !== undefined && ms < 1) out.push(err(['spec', 'metrics', i, 'reportingInterval'], 'must be a valid duration greater than 1ms'));
    m.overrides?.forEach((o, j) => {
      for (const [tag, t] of Object.entries(o.tagOverrides ?? {})) {
        const at: Path = ['spec', 'metrics', i, 'overrides', j, 'tagOverrides', tag];
        if (tag === '') out.push(err(at, 'tag name may not be empty'));
        const op = t.operation ?? 'UPSERT';
        if (op === 'REMOVE' && t.value !== undefined) out.push(err(at, 'value must not be set when operation is REMOVE'));
        if (op === 'UPSERT' && !t.value) out.push(err(at, 'value must be set when operation is UPSERT (the default operation)'));
      }
    });
  });
}

export function telemetryRules(r: Resource): Issue[] {
  const spec = r.spec as TelemetrySpec;
  const out: Issue[] = [...checkWorkloadSelector(spec.selector, ['spec', 'selector']), ...checkTargetRefs(spec)];
  tracingRules(spec.tracing ?? [], out);
  metricsRules(spec.metrics ?? [], out);
  spec.accessLogging?.forEach((l, i) => {
    if ((l.providers?.length ?? 0) > 1) out.push(warn(['spec', 'accessLogging', i, 'providers'], 'multiple providers is not currently supported'));
  });
  return out;
}

export const telemetry: KindDef = {
  group: 'telemetry.istio.io',
  kind: 'Telemetry',
  plural: 'telemetries',
  versions: ['v1', 'v1alpha1'],
  storageVersion: 'v1alpha1',
  namespaced: true,
  schema: TelemetrySpec,
  rules: telemetryRules,
};

export const telemetryKinds: KindDef[] = [telemetry];
