/**
 * What the Bookinfo services share: where each upstream service lives (the same environment
 * overrides as Istio's originals) and which request headers they propagate downstream so that
 * traces join up and routing rules on `end-user` work.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { pickHeaders } from '../../lib/http-client.js';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Base URL of a Bookinfo service, e.g. `http://reviews:9080`. `<SVC>_HOSTNAME` and
 * `<SVC>_SERVICE_PORT` override the name and port; `SERVICES_DOMAIN` is appended as a DNS suffix.
 */
export function serviceUrl(service: 'details' | 'reviews' | 'ratings', env: Env = process.env): string {
  const key = service.toUpperCase();
  const host = env[`${key}_HOSTNAME`] || service;
  const domain = env.SERVICES_DOMAIN ? `.${env.SERVICES_DOMAIN}` : '';
  const port = env[`${key}_SERVICE_PORT`] || '9080';
  const name = `${host}${domain}`;
  return `http://${name.includes(':') ? `[${name}]` : name}:${port}`;
}

/** Tracing headers (B3, W3C, Lightstep, Google, SkyWalking) and request ids, propagated as received. */
export const TRACE_HEADERS = [
  'x-request-id',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
  'b3',
  'traceparent',
  'tracestate',
  'x-ot-span-context',
  'x-cloud-trace-context',
  'grpc-trace-bin',
  'sw8',
] as const;

/** Request context the applications pass on: caller identity and credentials. */
export const CONTEXT_HEADERS = ['user-agent', 'cookie', 'authorization', 'jwt'] as const;

/**
 * The headers to send downstream: every trace/context header present on the incoming request,
 * plus all `x-datadog-*` headers. `end-user` is added only when `includeEndUser` is set: reviews
 * passes it on, while productpage derives it from its own session instead.
 */
export function forwardHeaders(incoming: IncomingHttpHeaders, includeEndUser: boolean): Record<string, string> {
  const names: string[] = [...TRACE_HEADERS, ...CONTEXT_HEADERS];
  if (includeEndUser) names.push('end-user');
  return pickHeaders(incoming, names, ['x-datadog-']);
}

/** Parses a product id the way the originals accept it: an optionally signed decimal integer. */
export function parseProductId(raw: string | undefined): number | undefined {
  if (raw === undefined || !/^[+-]?\d+$/.test(raw.trim())) return undefined;
  const id = Number(raw.trim());
  return Number.isSafeInteger(id) ? id : undefined;
}
