/**
 * A `DashboardSources` that records what the dashboard server asked it and answers empty
 * figures, for the server's own concerns (parameters, status codes, failures). What the
 * endpoints answer from a real mesh is tested against a real skiffd (api.test.ts).
 */
import type { ConfigEntry, DashboardSources, GraphQuery, ProxyRow, RateLimitsAnswer, ServiceGraph, TraceSpan, TraceSummary } from '../../src/dashboard/sources.js';

/** The one trace id the source knows (with no spans); any other is unknown. */
export const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

export class FakeSources implements DashboardSources {
  readonly graphQueries: GraphQuery[] = [];
  readonly traceQueries: { limit: number; service?: string }[] = [];
  readonly rateLimitQueries: GraphQuery[] = [];
  /** Set to make every call throw (a source that fails). */
  failWith: Error | undefined;

  graph(query: GraphQuery): Promise<ServiceGraph> {
    this.graphQueries.push(query);
    this.check();
    return Promise.resolve({ timestamp: 0, windowSeconds: query.windowSeconds ?? 60, namespaces: [], nodes: [], edges: [] });
  }

  traces(opts: { limit: number; service?: string }): TraceSummary[] {
    this.traceQueries.push(opts);
    this.check();
    return [];
  }

  trace(traceId: string): TraceSpan[] | undefined {
    this.check();
    return traceId === TRACE_ID ? [] : undefined;
  }

  config(): ConfigEntry[] {
    this.check();
    return [];
  }

  proxies(): ProxyRow[] {
    this.check();
    return [];
  }

  rateLimits(query: GraphQuery): RateLimitsAnswer {
    this.rateLimitQueries.push(query);
    this.check();
    return { windowSeconds: query.windowSeconds ?? 60, proxies: [] };
  }

  private check(): void {
    if (this.failWith !== undefined) throw this.failWith;
  }
}
