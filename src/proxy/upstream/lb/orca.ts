/**
 * ORCA load reports as backends send them on responses, in the `endpoint-load-metrics` header
 * Envoy reads: `TEXT cpu_utilization=0.3, application_utilization=0.5, rps_fractional=10,
 * eps=1, named_metrics.foo=0.4` or `JSON {"cpu_utilization": 0.3, ...}` (the binary form is
 * not read). A report that does not parse is ignored, as Envoy ignores it.
 */

export const ORCA_HEADER = 'endpoint-load-metrics';

export interface OrcaReport {
  cpuUtilization: number;
  applicationUtilization: number;
  /** Queries per second the endpoint served (`rps_fractional`). */
  rpsFractional: number;
  /** Errors per second. */
  eps: number;
  namedMetrics: ReadonlyMap<string, number>;
}

function fromEntries(entries: Iterable<[string, unknown]>): OrcaReport | undefined {
  const report = { cpuUtilization: 0, applicationUtilization: 0, rpsFractional: 0, eps: 0, namedMetrics: new Map<string, number>() };
  for (const [key, raw] of entries) {
    const value = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
    if (!Number.isFinite(value) || value < 0) return undefined;
    if (key === 'cpu_utilization') report.cpuUtilization = value;
    else if (key === 'application_utilization') report.applicationUtilization = value;
    else if (key === 'rps_fractional') report.rpsFractional = value;
    else if (key === 'eps') report.eps = value;
    else if (key.startsWith('named_metrics.') && key.length > 'named_metrics.'.length) report.namedMetrics.set(key.slice('named_metrics.'.length), value);
  }
  return report;
}

/** The report in a header value, or undefined when it is not one. */
export function parseOrcaHeader(value: string): OrcaReport | undefined {
  const text = value.trim();
  if (text.startsWith('TEXT ')) {
    const entries: [string, string][] = [];
    for (const part of text.slice(5).split(',')) {
      const eq = part.indexOf('=');
      if (eq <= 0) return undefined;
      entries.push([part.slice(0, eq).trim(), part.slice(eq + 1)]);
    }
    return fromEntries(entries);
  }
  if (text.startsWith('JSON ')) {
    let body: unknown;
    try {
      body = JSON.parse(text.slice(5));
    } catch {
      return undefined;
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
    const { named_metrics: named, ...fields } = body as Record<string, unknown>;
    const entries: [string, unknown][] = Object.entries(fields);
    if (typeof named === 'object' && named !== null) for (const [k, v] of Object.entries(named)) entries.push([`named_metrics.${k}`, v]);
    return fromEntries(entries);
  }
  return undefined;
}
