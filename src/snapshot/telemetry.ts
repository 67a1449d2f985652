/**
 * The `telemetry` section of the proxy snapshot (access logging and tracing, as the control plane
 * derives them from mesh config and Telemetry resources) and its validation. How it combines with
 * the proxy's command-line defaults is `src/telemetry/config.ts`.
 */
import { FormatStringError, JsonFormatError, checkJsonFormat, parseFormatString } from '../api/access-log-format.js';
import type { JsonFormatValue } from '../api/access-log-format.js';

export type AccessLogFormat = 'text' | 'json';

/** The snapshot's `telemetry` section; every field optional (absent = the proxy's default). */
export interface TelemetryConfig {
  accessLog?: {
    /** Write one line per request and TCP connection to the proxy's stdout. Default true when the section is present. */
    enabled?: boolean;
    /** `text`: Envoy's default format; `json`: Istio's `accessLogEncoding: JSON` keys. Default text. */
    format?: AccessLogFormat;
    /**
     * A custom Envoy format string (MeshConfig `accessLogFormat`, an `envoyFileAccessLog`
     * provider's `logFormat.text`), ending in a newline as Istio hands it over; replaces the default text format.
     */
    text?: string;
    /** A custom JSON format (`logFormat.labels`, or `accessLogFormat` with the JSON encoding): keys to format strings. */
    labels?: Record<string, JsonFormatValue>;
  };
  tracing?: {
    /** Percentage of new traces sampled at the first proxy, 0..100 (Istio `sampling`). Default 1. */
    sampling?: number;
    /** Zipkin v2 JSON endpoint, e.g. `http://zipkin:9411/api/v2/spans`. */
    zipkinUrl?: string;
    /** OTLP/HTTP JSON endpoint, e.g. `http://collector:4318/v1/traces`. */
    otlpUrl?: string;
    /** skiffd's embedded collector; receives Zipkin v2 JSON like `zipkinUrl`. */
    collectorUrl?: string;
  };
}

/** A telemetry section that cannot be used; `path` is relative to the section (`tracing.sampling`). */
export class TelemetryConfigError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'TelemetryConfigError';
  }
}

type Obj = Record<string, unknown>;

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : JSON.stringify(v);
}

function obj(v: unknown, at: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TelemetryConfigError(at, `must be an object, got ${describe(v)}`);
  return v as Obj;
}

function onlyKeys(o: Obj, at: string, keys: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) throw new TelemetryConfigError(`${at}.${k}`, `unknown field (expected one of ${keys.join(', ')})`);
  }
}

/** Checks a percentage 0..100. */
export function checkSampling(v: unknown, at: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 100) throw new TelemetryConfigError(at, `must be a percentage 0..100, got ${describe(v)}`);
  return v;
}

/** Checks an http(s) URL. */
export function checkUrl(v: unknown, at: string): string {
  if (typeof v !== 'string' || v === '') throw new TelemetryConfigError(at, `must be an http(s) URL, got ${describe(v)}`);
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new TelemetryConfigError(at, `not a URL: ${JSON.stringify(v)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TelemetryConfigError(at, `must use http or https, got ${JSON.stringify(url.protocol)}`);
  return v;
}

/** Checks an Envoy format string: a string whose operators are all ones Skiff prints. */
function checkFormatText(v: unknown, at: string): string {
  if (typeof v !== 'string' || v === '') throw new TelemetryConfigError(at, `must be a format string, got ${describe(v)}`);
  try {
    parseFormatString(v);
  } catch (e) {
    if (e instanceof FormatStringError) throw new TelemetryConfigError(at, e.message);
    throw e;
  }
  return v;
}

/** Checks a labels map: an object whose strings (nested too) are format strings. */
function checkFormatLabels(v: unknown, at: string): Record<string, JsonFormatValue> {
  const labels = obj(v, at) as Record<string, JsonFormatValue>;
  try {
    checkJsonFormat(labels);
  } catch (e) {
    if (e instanceof JsonFormatError) throw new TelemetryConfigError(`${at}.${e.key}`, e.error.message);
    throw e;
  }
  return labels;
}

/** Validates the snapshot's `telemetry` section (as parsed from JSON); throws `TelemetryConfigError`. */
export function checkTelemetryConfig(input: unknown): TelemetryConfig {
  const o = obj(input, 'telemetry');
  onlyKeys(o, 'telemetry', ['accessLog', 'tracing']);
  const out: TelemetryConfig = {};
  if (o.accessLog !== undefined) {
    const a = obj(o.accessLog, 'telemetry.accessLog');
    onlyKeys(a, 'telemetry.accessLog', ['enabled', 'format', 'text', 'labels']);
    out.accessLog = {};
    if (a.enabled !== undefined) {
      if (typeof a.enabled !== 'boolean') throw new TelemetryConfigError('telemetry.accessLog.enabled', `must be true or false, got ${describe(a.enabled)}`);
      out.accessLog.enabled = a.enabled;
    }
    if (a.format !== undefined) {
      if (a.format !== 'text' && a.format !== 'json') throw new TelemetryConfigError('telemetry.accessLog.format', `must be one of text, json, got ${describe(a.format)}`);
      out.accessLog.format = a.format;
    }
    if (a.text !== undefined && a.labels !== undefined) throw new TelemetryConfigError('telemetry.accessLog', 'text and labels are exclusive (one format)');
    if (a.text !== undefined) out.accessLog.text = checkFormatText(a.text, 'telemetry.accessLog.text');
    if (a.labels !== undefined) out.accessLog.labels = checkFormatLabels(a.labels, 'telemetry.accessLog.labels');
  }
  if (o.tracing !== undefined) {
    const t = obj(o.tracing, 'telemetry.tracing');
    onlyKeys(t, 'telemetry.tracing', ['sampling', 'zipkinUrl', 'otlpUrl', 'collectorUrl']);
    out.tracing = {};
    if (t.sampling !== undefined) out.tracing.sampling = checkSampling(t.sampling, 'telemetry.tracing.sampling');
    if (t.zipkinUrl !== undefined) out.tracing.zipkinUrl = checkUrl(t.zipkinUrl, 'telemetry.tracing.zipkinUrl');
    if (t.otlpUrl !== undefined) out.tracing.otlpUrl = checkUrl(t.otlpUrl, 'telemetry.tracing.otlpUrl');
    if (t.collectorUrl !== undefined) out.tracing.collectorUrl = checkUrl(t.collectorUrl, 'telemetry.tracing.collectorUrl');
  }
  return out;
}
