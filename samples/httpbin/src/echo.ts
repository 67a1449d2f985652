/**
 * How httpbin describes a request back to its caller, in go-httpbin's shapes: header names in
 * Go's canonical form with every value in a JSON array (or plain strings in the older
 * kennethreitz/httpbin flavour), query arguments likewise, the client IP and the full URL.
 */
import type { IncomingMessage } from 'node:http';

/** `kennethreitz` renders single values as strings, as the Python httpbin does; `go` uses arrays. */
export type Flavor = 'go' | 'kennethreitz';

export type Values = Record<string, string[] | string>;

/** Go's canonical MIME header key: `x-b3-traceid` → `X-B3-Traceid`. */
export function canonicalHeaderName(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, sep: string, c: string) => sep + c.toUpperCase());
}

function render(entries: [string, string[]][], flavor: Flavor): Values {
  const out: Values = {};
  // Go's encoder writes map keys in sorted order.
  for (const [key, values] of entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    out[key] = flavor === 'go' ? values : values.join(',');
  }
  return out;
}

export function requestHeaders(req: IncomingMessage, flavor: Flavor): Values {
  const merged = new Map<string, string[]>();
  for (const [name, values] of Object.entries(req.headersDistinct)) {
    if (values === undefined) continue;
    const key = canonicalHeaderName(name);
    merged.set(key, [...(merged.get(key) ?? []), ...values]);
  }
  return render([...merged], flavor);
}

export function queryArgs(url: URL, flavor: Flavor): Values {
  return valuesOf(url.searchParams, flavor);
}

export function valuesOf(params: URLSearchParams, flavor: Flavor): Values {
  const grouped = new Map<string, string[]>();
  for (const [k, v] of params) grouped.set(k, [...(grouped.get(k) ?? []), v]);
  return render([...grouped], flavor);
}

/** The client's address: platform client-IP headers, then the first X-Forwarded-For hop, then the socket. */
export function clientIp(req: IncomingMessage): string {
  for (const name of ['fly-client-ip', 'cf-connecting-ip', 'fastly-client-ip', 'true-client-ip']) {
    const value = req.headers[name];
    if (typeof value === 'string' && value !== '') return value;
  }
  const forwarded = req.headers['x-forwarded-for'];
  const xff = Array.isArray(forwarded) ? forwarded[0] : forwarded;
  if (xff !== undefined && xff !== '') return xff.split(',')[0].trim();
  return (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
}

/** The URL the client asked for, with the scheme it used as far as forwarding headers tell. */
export function requestUrl(req: IncomingMessage): string {
  const header = (name: string): string | undefined => {
    const v = req.headers[name];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const scheme = header('x-forwarded-proto') ?? header('x-forwarded-protocol') ?? (header('x-forwarded-ssl') === 'on' ? 'https' : 'http');
  const target = req.url ?? '/';
  // Requests that came through a forward proxy carry an absolute URL already.
  if (/^https?:\/\//i.test(target)) return target;
  return `${scheme}://${req.headers.host ?? 'localhost'}${target}`;
}

export interface BodyFields {
  data: string;
  files: Values;
  form: Values;
  json: unknown;
}

/** Interprets a request body by content type, as httpbin's body-echoing endpoints do. */
export function parseBody(body: Buffer, contentType: string | undefined, flavor: Flavor): BodyFields {
  const fields: BodyFields = { data: '', files: {}, form: {}, json: null };
  if (body.length === 0) return fields;
  fields.data = body.toString('utf8');
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'text/plain' || type === 'text/html') return fields;
  if (type === 'application/x-www-form-urlencoded') {
    fields.form = valuesOf(new URLSearchParams(fields.data), flavor);
  } else if (type === 'application/json') {
    try {
      fields.json = JSON.parse(fields.data);
    } catch (err) {
      throw new Error(`error parsing request body: ${err instanceof Error ? err.message : String(err)}`);
    }
  } else {
    // Anything else comes back as a base64 data URL, so binary bodies survive the JSON round trip.
    fields.data = `data:${type || 'application/octet-stream'};base64,${body.toString('base64').replace(/\+/g, '-').replace(/\//g, '_')}`;
  }
  return fields;
}

/** The request as `/get` describes it: `args`, `headers`, `method`, `origin`, `url`. */
export function describe(req: IncomingMessage, url: URL, flavor: Flavor): { args: Values; headers: Values; method: string; origin: string; url: string } {
  return { args: queryArgs(url, flavor), headers: requestHeaders(req, flavor), method: req.method ?? 'GET', origin: clientIp(req), url: requestUrl(req) };
}
