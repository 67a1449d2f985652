/**
 * `skiff analyze`'s engine: turns loading findings into messages (IST0106 schema errors, SKF0001
 * unsupported kinds, SKF0002 unreadable input), then runs every analyzer over the set of valid
 * resources and returns the messages for the namespace asked about, sorted as istioctl sorts them.
 */
import { formatPath } from '../api/types.js';
import type { Finding, LoadedResource, LoadResult } from '../config/finding.js';
import { formatPos } from '../config/format.js';
import { MESH_CONFIG_MAP } from '../config/mesh-config.js';
import { AnalysisContext, messageResource } from './context.js';
import type { AnalysisMessage, Analyzer, LiveState, MessageResource } from './context.js';
import { documentationUrl, MessageTypes, text } from './messages.js';
import type { Level, MessageType } from './messages.js';
import { authorizationPolicies } from './analyzers/authorization-policies.js';
import { destinationRules } from './analyzers/destination-rules.js';
import { gatewayCredentials } from './analyzers/gateway-credentials.js';
import { gatewaySelectors } from './analyzers/gateway-selectors.js';
import { mtlsConflicts } from './analyzers/mtls-conflicts.js';
import { notEnforced } from './analyzers/not-enforced.js';
import { servicePortNames } from './analyzers/service-port-names.js';
import { sidecarSelectors } from './analyzers/sidecar-selectors.js';
import { vsDestinationHosts } from './analyzers/vs-destination-hosts.js';
import { vsGateways } from './analyzers/vs-gateways.js';
import { vsMeshConflicts } from './analyzers/vs-mesh-conflicts.js';
import { vsSubsets } from './analyzers/vs-subsets.js';
import { vsUnreachableRules } from './analyzers/vs-unreachable-rules.js';
import { workloadSelectors } from './analyzers/workload-selectors.js';
import { jwksFetch } from './analyzers/jwks-fetch.js';

export type { AnalysisMessage, Analyzer, LiveState, MessageResource, ProxyJwksReport } from './context.js';
export type { Level } from './messages.js';

export const analyzers: readonly Analyzer[] = [
  vsDestinationHosts,
  vsSubsets,
  vsGateways,
  vsMeshConflicts,
  vsUnreachableRules,
  gatewaySelectors,
  gatewayCredentials,
  sidecarSelectors,
  workloadSelectors,
  destinationRules,
  servicePortNames,
  authorizationPolicies,
  mtlsConflicts,
  jwksFetch,
  notEnforced,
];

export interface AnalyzeOptions {
  /** Namespace whose messages are reported (resources without a namespace were given this one when loaded). */
  namespace: string;
  /** Report messages for every namespace. */
  allNamespaces?: boolean;
  /** What the running mesh reports (its proxies' JWKS fetches), when a skiffd runs. */
  live?: LiveState;
}

export function analyze(load: LoadResult, opts: AnalyzeOptions): AnalysisMessage[] {
  const messages: AnalysisMessage[] = load.findings.map(findingMessage);
  const { effective, duplicates } = lastDefinitionWins(load.resources);
  messages.push(...duplicates);
  const ctx = new AnalysisContext(effective, opts.live);
  for (const a of analyzers) {
    try {
      a.analyze(ctx);
    } catch (err: unknown) {
      // A failing analyzer is a bug in Skiff; report it and let the others run.
      messages.push(message(MessageTypes.InternalError, `Internal error: ${a.name}: ${err instanceof Error ? err.message : String(err)}`));
    }
  }
  messages.push(...ctx.messages);
  const shown = messages.filter(
    (m) => opts.allNamespaces || m.resource?.namespace === undefined || m.resource.namespace === opts.namespace || isMeshWide(m.resource),
  );
  return sortAndDedupe(shown, load.files);
}

/** The mesh config's ConfigMap applies to every namespace, so what is said of it is shown whichever is analyzed. */
function isMeshWide(r: MessageResource): boolean {
  return r.kind === 'ConfigMap' && r.namespace === MESH_CONFIG_MAP.namespace && r.name === MESH_CONFIG_MAP.name;
}

/** Like `kubectl apply`, a later definition of the same resource replaces an earlier one. */
function lastDefinitionWins(resources: readonly LoadedResource[]): { effective: LoadedResource[]; duplicates: AnalysisMessage[] } {
  const byKey = new Map<string, LoadedResource>();
  const duplicates: AnalysisMessage[] = [];
  for (const lr of resources) {
    const r = lr.resource;
    const key = `${r.apiVersion.split('/')[0] ?? ''}|${r.kind}|${r.metadata.namespace ?? ''}|${r.metadata.name}`;
    const earlier = byKey.get(key);
    if (earlier) {
      const m = message(MessageTypes.DuplicateResource, text.duplicateResource(formatPos(lr.source)));
      duplicates.push({ ...m, resource: messageResource(earlier.resource), origin: earlier.locate(['metadata', 'name']) });
      byKey.delete(key);
    }
    byKey.set(key, lr);
  }
  return { effective: [...byKey.values()], duplicates };
}

function findingMessage(f: Finding): AnalysisMessage {
  const level = LEVELS[f.severity];
  const path = formatPath(f.path);
  const detail = path ? `${path}: ${f.message}` : f.message;
  let type: MessageType;
  let body: string;
  if (f.origin !== 'validation') {
    type = MessageTypes.InvalidInput;
    body = f.origin === 'read' ? `${f.file}: ${f.message}` : f.message;
  } else if (f.code !== undefined && codeTypes.has(f.code)) {
    // Validation rules that mirror an analysis message (IST0130, IST0131, ...) keep its code.
    type = codeTypes.get(f.code) ?? MessageTypes.SchemaWarning;
    body = f.message.replace(/^virtualService /, 'VirtualService ');
  } else if (f.unsupported) {
    type = MessageTypes.UnsupportedKind;
    body = f.message;
  } else if (f.severity === 'error') {
    type = MessageTypes.SchemaValidationError;
    body = text.schemaValidationError(detail);
  } else {
    type = MessageTypes.SchemaWarning;
    body = text.schemaWarning(detail);
  }
  const resource = f.resource !== undefined ? parseResourceKey(f.resource) : undefined;
  return { ...message(type, body, level), ...(resource ? { resource } : {}), origin: { file: f.file, ...(f.line !== undefined ? { line: f.line } : {}), ...(f.col !== undefined ? { col: f.col } : {}) } };
}

const codeTypes = new Map<string, MessageType>(Object.values(MessageTypes).map((t) => [t.code, t]));

const LEVELS = { error: 'Error', warning: 'Warning', info: 'Info' } as const;

function message(type: MessageType, body: string, level: Level = type.level): AnalysisMessage {
  const url = documentationUrl(type.code);
  return { code: type.code, name: type.name, level, message: body, ...(url !== undefined ? { documentationUrl: url } : {}) };
}

/** `Kind/namespace/name` or `Kind/name` back into parts. */
function parseResourceKey(key: string): MessageResource | undefined {
  const parts = key.split('/');
  if (parts.length === 3) return { kind: parts[0] ?? '', namespace: parts[1] ?? '', name: parts[2] ?? '' };
  if (parts.length === 2) return { kind: parts[0] ?? '', name: parts[1] ?? '' };
  return undefined;
}

const LEVEL_ORDER: Record<Level, number> = { Error: 0, Warning: 1, Info: 2 };

/** Errors first, then by code, then by position in the input; identical messages once. */
function sortAndDedupe(messages: readonly AnalysisMessage[], files: readonly string[]): AnalysisMessage[] {
  const rank = new Map(files.map((f, i) => [f, i]));
  const seen = new Set<string>();
  const unique = messages.filter((m) => {
    const key = `${m.code}|${m.resource?.kind}|${m.resource?.namespace}|${m.resource?.name}|${m.origin?.file}|${m.origin?.line}|${m.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return unique.sort(
    (a, b) =>
      LEVEL_ORDER[a.level] - LEVEL_ORDER[b.level] ||
      (a.code < b.code ? -1 : a.code > b.code ? 1 : 0) ||
      (rank.get(a.origin?.file ?? '') ?? -1) - (rank.get(b.origin?.file ?? '') ?? -1) ||
      (a.origin?.line ?? 0) - (b.origin?.line ?? 0) ||
      (a.origin?.col ?? 0) - (b.origin?.col ?? 0),
  );
}
