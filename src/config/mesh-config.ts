/**
 * The mesh config the Istio way: the `mesh` key of the ConfigMap `istio` in `istio-system`,
 * YAML text holding Istio's MeshConfig. Read here from its ConfigMap: parsed as YAML, checked
 * against the MeshConfig schema (`src/api/mesh-config.ts`), every finding positioned by line and
 * column within the `mesh` text and named by its field path there. Apply and validate report the
 * findings at their place in the user's file (`load.ts`); skiffd reads the config live from its
 * config source and keeps the last good one when a new one is malformed.
 */
import { LineCounter } from 'yaml';
import { checkMeshConfig, EXTENSION_PROVIDER_KINDS } from '../api/mesh-config.js';
import type { ExtensionProvider, ExtensionProviderKind, MeshConfig } from '../api/mesh-config.js';
import { FormatStringError, JsonFormatError, checkJsonFormat, parseFormatString } from '../api/access-log-format.js';
import type { JsonFormatValue } from '../api/access-log-format.js';
import { formatPath } from '../api/types.js';
import type { Issue, Resource } from '../api/types.js';
import { checkInputLimits } from './input-limits.js';
import { parseYamlDocuments, unclosedKindOf, unclosedMessage } from './yaml-parse.js';
import { positionOf } from './yaml-positions.js';

/** Where Istio keeps the mesh config: `kubectl -n istio-system get configmap istio -o jsonpath='{.data.mesh}'`. */
export const MESH_CONFIG_MAP = { namespace: 'istio-system', name: 'istio', key: 'mesh' } as const;

/** A finding about the mesh text: its field path there, and its line and column in that text. */
export interface MeshConfigIssue extends Issue {
  /** 1-based, within the `mesh` text; absent for findings about the text as a whole. */
  line?: number;
  col?: number;
}

export interface ParsedMeshConfig {
  /** The typed config; absent when the text has an error (syntax, type, value). */
  config?: MeshConfig;
  issues: MeshConfigIssue[];
}

/** True for the ConfigMap that holds the mesh config (whatever its keys). */
export function isMeshConfigMap(r: Pick<Resource, 'apiVersion' | 'kind' | 'metadata'>): boolean {
  return r.kind === 'ConfigMap' && r.apiVersion === 'v1' && r.metadata.name === MESH_CONFIG_MAP.name && r.metadata.namespace === MESH_CONFIG_MAP.namespace;
}

/** The `mesh` text of the mesh ConfigMap; undefined when the ConfigMap has no such key. */
export function meshTextOf(r: Resource): string | undefined {
  const data = r.data;
  if (typeof data !== 'object' || data === null) return undefined;
  const text = (data as Record<string, unknown>)[MESH_CONFIG_MAP.key];
  return typeof text === 'string' ? text : undefined;
}

/** Parses and checks the `mesh` text; every issue carries its line and column in that text. */
export function parseMeshConfig(text: string): ParsedMeshConfig {
  // A document inside a document: its own nesting is bounded as the file's is.
  const breach = checkInputLimits(text)[0];
  if (breach !== undefined) {
    const line = text.slice(0, breach.offset).split('\n').length;
    return { issues: [{ severity: 'error', path: [], message: `the mesh config is ${breach.message}`, line, col: breach.offset - text.lastIndexOf('\n', breach.offset - 1) }] };
  }
  const lineCounter = new LineCounter();
  const parsed = parseYamlDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined): { line?: number; col?: number } => (offset === undefined ? {} : lineCounter.linePos(offset));
  const docs = parsed.documents.filter((d) => d.contents !== null || d.errors.length > 0);
  if (docs.length > 1) {
    return { issues: [{ severity: 'error', path: [], message: 'the mesh config is one YAML document; found another', ...at(docs[1]?.range[0]) }] };
  }
  const doc = docs[0];
  if (doc === undefined) return { config: {}, issues: [] };
  if (doc.errors.length > 0) {
    const unclosed = [...parsed.unclosed];
    return {
      issues: doc.errors.map((e): MeshConfigIssue => {
        const kind = unclosedKindOf(e.message);
        const opener = kind === undefined ? undefined : unclosed.filter((u) => u.open === kind && u.offset < e.pos[0]).at(-1);
        if (opener !== undefined) unclosed.splice(unclosed.indexOf(opener), 1);
        const message = opener !== undefined ? unclosedMessage(opener) : e.message.replace(/ at line \d+, column \d+:?[\s\S]*$/, '').trim();
        return { severity: 'error', path: [], message, ...at(opener?.offset ?? e.pos[0]) };
      }),
    };
  }
  const value: unknown = doc.toJS({ maxAliasCount: 1000 });
  if (value !== null && value !== undefined && (typeof value !== 'object' || Array.isArray(value))) {
    return { issues: [{ severity: 'error', path: [], message: `the mesh config must be a mapping of MeshConfig fields (got ${Array.isArray(value) ? 'a list' : JSON.stringify(value)})`, ...at(doc.range[0]) }] };
  }
  const checked = checkMeshConfig(value);
  const found = checked.config === undefined ? checked.issues : [...checked.issues, ...formatIssues(checked.config), ...supportIssues(checked.config)];
  const issues = found.map((i): MeshConfigIssue => {
    // A warning is about a field being there (unknown, not acted on): point at its key; an error, at the value.
    const pos = positionOf(doc, lineCounter, doc.contents, i.path, { atKey: i.severity === 'warning' });
    return pos === undefined ? i : { ...i, line: pos.line, col: pos.col };
  });
  return checked.config !== undefined && !issues.some((i) => i.severity === 'error') ? { config: checked.config, issues } : { issues };
}

/** A custom access-log format: an Envoy format string, or a labels map for JSON lines. */
export type AccessLogFormatSpec = { text: string } | { labels: Record<string, JsonFormatValue> };

/**
 * The format MeshConfig `accessLogFormat` gives the mesh-wide access log, by Istio's rules: with
 * the TEXT encoding (the default) it is an Envoy format string; with `accessLogEncoding: JSON` it
 * is a JSON object of keys to format strings (Istio's `{"status": "%RESPONSE_CODE%"}`). Null when
 * unset or empty (Istio's default format); a string for what makes it unusable.
 */
export function meshAccessLogFormat(config: MeshConfig): AccessLogFormatSpec | null | string {
  const format = config.accessLogFormat;
  if (format === undefined || format === '') return null;
  if (config.accessLogEncoding !== 'JSON') return formatTextError(format) ?? { text: format };
  let labels: unknown;
  try {
    labels = JSON.parse(format);
  } catch (e) {
    return `with accessLogEncoding JSON, must be a JSON object of keys to format strings: ${e instanceof Error ? e.message : String(e)}`;
  }
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) return 'with accessLogEncoding JSON, must be a JSON object of keys to format strings';
  const typed = labels as Record<string, JsonFormatValue>;
  return formatLabelsError(typed) ?? { labels: typed };
}

function formatTextError(format: string): string | null {
  try {
    parseFormatString(format);
    return null;
  } catch (e) {
    if (e instanceof FormatStringError) return e.message;
    throw e;
  }
}

function formatLabelsError(labels: Record<string, JsonFormatValue>): string | null {
  try {
    checkJsonFormat(labels);
    return null;
  } catch (e) {
    if (e instanceof JsonFormatError) return `key ${JSON.stringify(e.key)}: ${e.error.message}`;
    throw e;
  }
}

/** Errors for access-log formats the proxies could not print: unknown operators, malformed ones, bad JSON. */
function formatIssues(config: MeshConfig): Issue[] {
  const out: Issue[] = [];
  const mesh = meshAccessLogFormat(config);
  if (typeof mesh === 'string') out.push({ severity: 'error', path: ['accessLogFormat'], message: mesh });
  (config.extensionProviders ?? []).forEach((p, i) => {
    const format = p.envoyFileAccessLog?.logFormat;
    const at = ['extensionProviders', i, 'envoyFileAccessLog', 'logFormat'];
    const text = format?.text === undefined ? null : formatTextError(format.text);
    if (text !== null) out.push({ severity: 'error', path: [...at, 'text'], message: text });
    const labels = format?.labels === undefined ? null : formatLabelsError(format.labels as Record<string, JsonFormatValue>);
    if (labels !== null) out.push({ severity: 'error', path: [...at, 'labels'], message: labels });
  });
  return out;
}

/** `mesh line 3: outboundTrafficPolicy.mode: must be one of ...`: a mesh finding as one line of text. */
export function describeMeshIssue(i: MeshConfigIssue): string {
  const where = i.line !== undefined ? `line ${i.line}` : '';
  const path = formatPath(i.path);
  return [where, path].filter((s) => s !== '').map((s) => `${s}: `).join('') + i.message;
}

// ---------------------------------------------------------------------------------------------
// What Skiff acts on. `src/controlplane/mesh-options.ts` turns exactly these fields into the mesh
// options translation reads; every other field set gets a warning, so nothing is silently ignored.
// ---------------------------------------------------------------------------------------------

/** Top-level fields Skiff acts on (`defaultConfig`, `defaultProviders`, `extensionProviders` only in part: see below). */
export const MESH_FIELDS_ACTED_ON: ReadonlySet<string> = new Set([
  'outboundTrafficPolicy',
  'accessLogFile',
  'accessLogFormat',
  'accessLogEncoding',
  'enableTracing',
  'defaultConfig',
  'defaultProviders',
  'extensionProviders',
  'trustDomain',
  'rootNamespace',
  'defaultHttpRetryPolicy',
  'pathNormalization',
]);

/** Fields parsed, typed and kept in the mesh options for work that follows, with no effect yet. */
export const MESH_FIELDS_KEPT: ReadonlySet<string> = new Set<string>();

/**
 * Extension provider kinds Skiff acts on when a default provider (or Telemetry) names them, or a
 * CUSTOM AuthorizationPolicy (`envoyExtAuthzHttp`, `envoyExtAuthzGrpc`).
 */
export const PROVIDER_KINDS_ACTED_ON: ReadonlySet<ExtensionProviderKind> = new Set(['envoyFileAccessLog', 'prometheus', 'envoyExtAuthzHttp', 'envoyExtAuthzGrpc']);

/** Istio's built-in providers, known by name without an `extensionProviders` entry. */
export const BUILTIN_PROVIDERS: Readonly<Record<string, ExtensionProviderKind>> = { envoy: 'envoyFileAccessLog', prometheus: 'prometheus' };

/** Access log paths that mean "the proxy's own output", which Skiff writes to the proxy's log. */
const STANDARD_STREAMS = new Set(['/dev/stdout', '/dev/stderr']);

const NOT_ACTED_ON = 'is not acted on by Skiff: it is kept in the mesh config and has no effect';
const KEPT = 'is parsed and kept, but Skiff does not act on it yet';

/** The kind of an extension provider (the field of its oneof that is set). */
export function providerKind(p: ExtensionProvider): ExtensionProviderKind | undefined {
  return EXTENSION_PROVIDER_KINDS.find((k) => p[k] !== undefined);
}

/** The providers `names` refer to: extension providers by name, then Istio's built-in ones. */
export function namedProviders(config: MeshConfig, names: readonly string[]): Array<{ name: string; kind?: ExtensionProviderKind; provider?: ExtensionProvider }> {
  return names.map((name) => {
    const provider = config.extensionProviders?.find((p) => p.name === name);
    if (provider !== undefined) {
      const kind = providerKind(provider);
      return kind === undefined ? { name, provider } : { name, kind, provider };
    }
    const builtin = BUILTIN_PROVIDERS[name];
    return builtin === undefined ? { name } : { name, kind: builtin };
  });
}

/** Warnings for the fields of a valid mesh config that Skiff does not act on (paths as JSON names). */
function supportIssues(config: MeshConfig): Issue[] {
  const out: Issue[] = [];
  const warn = (path: Array<string | number>, message: string): void => void out.push({ severity: 'warning', path, message });
  for (const key of Object.keys(config)) {
    if (MESH_FIELDS_KEPT.has(key)) warn([key], KEPT);
    else if (!MESH_FIELDS_ACTED_ON.has(key)) warn([key], NOT_ACTED_ON);
  }
  if (config.accessLogFile !== undefined && config.accessLogFile !== '' && !STANDARD_STREAMS.has(config.accessLogFile)) {
    warn(['accessLogFile'], `every proxy writes its access log to its own output (proxy.log); the path ${JSON.stringify(config.accessLogFile)} is not used`);
  }
  for (const key of Object.keys(config.defaultConfig ?? {})) {
    if (key !== 'tracing') warn(['defaultConfig', key], NOT_ACTED_ON);
  }
  for (const key of Object.keys(config.defaultConfig?.tracing ?? {})) {
    if (key !== 'sampling') warn(['defaultConfig', 'tracing', key], `${NOT_ACTED_ON} (traces go to skiffd's collector and to skiff up's --zipkin-url / --otlp-url)`);
  }
  (config.extensionProviders ?? []).forEach((p, i) => {
    const kind = providerKind(p);
    if (kind !== undefined && !PROVIDER_KINDS_ACTED_ON.has(kind)) warn(['extensionProviders', i, kind], `provider "${p.name}" (${kind}) ${KEPT}`);
    if ((kind === 'envoyExtAuthzHttp' || kind === 'envoyExtAuthzGrpc') && p[kind]?.includeRequestBodyInCheck !== undefined) {
      warn(['extensionProviders', i, kind, 'includeRequestBodyInCheck'], `${NOT_ACTED_ON}: the check is sent on the request's head, without its body`);
    }
    const path = p.envoyFileAccessLog?.path;
    if (path !== undefined && path !== '' && !STANDARD_STREAMS.has(path)) {
      warn(['extensionProviders', i, 'envoyFileAccessLog', 'path'], `every proxy writes its access log to its own output (proxy.log); the path ${JSON.stringify(path)} is not used`);
    }
  });
  const defaults = config.defaultProviders ?? {};
  for (const field of ['tracing', 'metrics', 'accessLogging'] as const) {
    namedProviders(config, defaults[field] ?? []).forEach((p, i) => {
      const path = ['defaultProviders', field, i];
      if (p.kind === undefined) warn(path, `no extension provider is named "${p.name}"`);
      else if (field === 'tracing') warn(path, `provider "${p.name}" (${p.kind}) ${KEPT}: spans go to skiffd's collector and to skiff up's --zipkin-url / --otlp-url`);
      else if (field === 'metrics' && p.kind !== 'prometheus') warn(path, `provider "${p.name}" (${p.kind}) ${KEPT}: every proxy serves Prometheus metrics`);
      else if (field === 'accessLogging' && p.kind !== 'envoyFileAccessLog') warn(path, `provider "${p.name}" (${p.kind}) ${KEPT}: access logs go to each proxy's output`);
    });
  }
  return out;
}
