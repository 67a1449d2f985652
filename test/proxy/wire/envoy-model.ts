/**
 * What Envoy, as Istio configures it, does to the header fields of a request and a response it
 * forwards over HTTP/1.1, hop by hop, written down as a model the wire tests compare against:
 *
 * - the client's own fields keep their order, repetition and values, names lowercased (Envoy's
 *   HTTP/1 codec writes lowercase names); only the fields named here may differ;
 * - hop-by-hop fields go (RFC 9110 §7.6.1: Connection and what it nominates, Keep-Alive,
 *   Proxy-Connection, Transfer-Encoding, Upgrade; TE except its `trailers` value), and
 *   `Expect: 100-continue`, which the proxy answers itself;
 * - the connection manager adds x-request-id (kept when present), x-forwarded-proto (set when
 *   absent; a gateway, which Istio runs with `use_remote_address`, overwrites it) and, on a
 *   gateway only, appends the peer's address to x-forwarded-for — sidecars leave it alone;
 *   the router adds x-envoy-attempt-count (Istio turns it on), telemetry adds trace context
 *   (B3 and W3C) and peer metadata (outbound and gateway requests, inbound responses; the other
 *   side removes it);
 * - body framing: `transfer-encoding: chunked` is re-added by the codec for a body of unknown
 *   length, and a request without a body gets one `content-length: 0` unless its method is
 *   GET, HEAD, DELETE, TRACE or CONNECT (Envoy's `requestShouldHaveNoBody`);
 * - a response gets `date` when it has none, `server` overwritten on outbound and gateway hops
 *   (inbound passes the app's through), x-envoy-upstream-service-time, and never a
 *   Content-Length on 1xx or 204 (RFC 9110 §8.6).
 */
import assert from 'node:assert/strict';
import type { Field } from './messages.js';

export type Hop = 'outbound' | 'inbound' | 'gateway';

/** A header value the model expects: exact, or any value of a shape. */
export type Expected = string | RegExp;

export interface ExpectedHead {
  /** The fields that keep their place, in order. */
  base: Field[];
  /** Fields a proxy adds (each exactly once, anywhere), by name. */
  added: Map<string, Expected>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const TRACE_ID = /^[0-9a-f]{16}(?:[0-9a-f]{16})?$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const IMF_DATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const ANY = /^.+$/;

/** The address a proxy appends to x-forwarded-for: every peer in these tests is on loopback. */
export const PEER_ADDRESS = '127.0.0.1';

/** Methods Envoy sends without `content-length: 0` when they have no body. */
const BODILESS_METHODS = new Set(['GET', 'HEAD', 'DELETE', 'TRACE', 'CONNECT']);

/** Always hop-by-hop on a request. */
const REQUEST_HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);
/** Always hop-by-hop on a response. */
const RESPONSE_HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);
/** Fields a Connection header may name without removing them: they frame and route the message. */
const NEVER_NOMINATED = new Set(['host', 'content-length']);

/** Mutable view of a head while hops are applied. */
class Head {
  readonly base: Field[];
  readonly added = new Map<string, Expected>();

  constructor(fields: readonly Field[]) {
    this.base = fields.map(([n, v]) => [n.toLowerCase(), v]);
  }

  has(name: string): boolean {
    return this.added.has(name) || this.base.some(([n]) => n === name);
  }

  remove(name: string): void {
    for (let i = this.base.length - 1; i >= 0; i--) if (this.base[i][0] === name) this.base.splice(i, 1);
    this.added.delete(name);
  }

  /** Sets a value: in place when the field is there (later repeats go), else as an added field. */
  set(name: string, value: Expected): void {
    const i = this.base.findIndex(([n]) => n === name);
    if (i < 0) {
      this.added.set(name, value);
      return;
    }
    assert.equal(typeof value, 'string', `the model sets ${name} in place to a fixed value`);
    this.base[i] = [name, value as string];
    for (let j = this.base.length - 1; j > i; j--) if (this.base[j][0] === name) this.base.splice(j, 1);
  }

  setIfAbsent(name: string, value: Expected): void {
    if (!this.has(name)) this.added.set(name, value);
  }

  /** Removes what Connection nominates (except framing and routing fields) and the hop-by-hop fields. */
  stripHopByHop(always: ReadonlySet<string>, keepTeTrailers: boolean): void {
    const nominated = new Set<string>();
    for (const [n, v] of this.base) {
      if (n !== 'connection') continue;
      for (const t of v.split(',')) {
        const tok = t.trim().toLowerCase();
        if (tok !== '' && tok !== 'close' && tok !== 'keep-alive' && tok !== 'upgrade' && !NEVER_NOMINATED.has(tok)) nominated.add(tok);
      }
    }
    const te = this.base.filter(([n]) => n === 'te').map(([, v]) => v);
    const teTrailers = keepTeTrailers && te.some((v) => v.split(',').some((t) => t.trim().toLowerCase() === 'trailers'));
    for (const name of [...always, ...nominated]) this.remove(name);
    if (teTrailers) this.set('te', 'trailers');
    else this.remove('te');
  }

  result(): ExpectedHead {
    return { base: this.base, added: this.added };
  }
}

export interface RequestCase {
  method: string;
  fields: readonly Field[];
  /** How the client framed the body. */
  body: 'none' | 'length' | 'chunked';
  /** Telemetry is on in every proxy (trace context and peer metadata, as in the mesh). */
  telemetry: boolean;
}

/** The request head the backend should receive after `hops` (in the order the request takes them). */
export function forwardedRequest(c: RequestCase, hops: readonly Hop[]): ExpectedHead {
  const h = new Head(c.fields);
  hops.forEach((hop, i) => {
    h.stripHopByHop(REQUEST_HOP_BY_HOP, true);
    if (h.base.some(([n, v]) => n === 'expect' && v.toLowerCase() === '100-continue')) h.remove('expect');
    h.setIfAbsent('x-request-id', UUID);
    if (hop === 'gateway') {
      // use_remote_address: the peer is appended to XFF and x-forwarded-proto is the connection's.
      const xff = h.base.findIndex(([n]) => n === 'x-forwarded-for');
      const prev = h.added.get('x-forwarded-for');
      if (xff >= 0) h.base[xff] = ['x-forwarded-for', `${h.base[xff][1]},${PEER_ADDRESS}`];
      else if (typeof prev === 'string') h.added.set('x-forwarded-for', `${prev},${PEER_ADDRESS}`);
      else h.added.set('x-forwarded-for', PEER_ADDRESS);
      h.set('x-forwarded-proto', 'http');
    } else h.setIfAbsent('x-forwarded-proto', 'http');
    if (c.telemetry) {
      if (hop === 'inbound') {
        h.remove('x-envoy-peer-metadata');
        h.remove('x-envoy-peer-metadata-id');
      } else {
        h.set('x-envoy-peer-metadata', ANY);
        h.set('x-envoy-peer-metadata-id', ANY);
      }
      h.added.set('x-b3-traceid', TRACE_ID);
      h.added.set('x-b3-spanid', SPAN_ID);
      if (i > 0) h.added.set('x-b3-parentspanid', SPAN_ID);
      h.added.set('x-b3-sampled', /^[01]$/);
      h.added.set('traceparent', /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    }
    if (h.has('x-envoy-attempt-count')) h.set('x-envoy-attempt-count', '1');
    else h.added.set('x-envoy-attempt-count', '1');
    if (c.body === 'chunked') h.added.set('transfer-encoding', 'chunked');
    else if (c.body === 'none' && !h.has('content-length') && !BODILESS_METHODS.has(c.method)) h.added.set('content-length', '0');
  });
  return h.result();
}

export interface ResponseCase {
  status: number;
  /** The request's method (HEAD responses carry no body). */
  method: string;
  fields: readonly Field[];
  /** How the backend framed the body. */
  body: 'none' | 'length' | 'chunked' | 'close';
  telemetry: boolean;
}

/** The response head an HTTP/1.1 client should receive; `hops` in the order the request took them. */
export function forwardedResponse(c: ResponseCase, hops: readonly Hop[]): ExpectedHead {
  const h = new Head(c.fields);
  const bodiless = c.method === 'HEAD' || c.status < 200 || c.status === 204 || c.status === 304;
  for (const hop of [...hops].reverse()) {
    h.stripHopByHop(RESPONSE_HOP_BY_HOP, false);
    if (c.status < 200 || c.status === 204) h.remove('content-length');
    h.setIfAbsent('date', IMF_DATE);
    if (hop !== 'inbound') h.set('server', hop === 'gateway' ? 'istio-envoy' : 'envoy');
    h.added.set('x-envoy-upstream-service-time', /^\d+$/);
    if (c.telemetry) {
      if (hop === 'inbound') {
        h.set('x-envoy-peer-metadata', ANY);
        h.set('x-envoy-peer-metadata-id', ANY);
      } else {
        h.remove('x-envoy-peer-metadata');
        h.remove('x-envoy-peer-metadata-id');
      }
    }
  }
  // The client's connection: a body of unknown length goes chunked to an HTTP/1.1 client.
  if (!bodiless && (c.body === 'chunked' || c.body === 'close')) h.added.set('transfer-encoding', 'chunked');
  return h.result();
}

function matches(value: string, want: Expected): boolean {
  return typeof want === 'string' ? value === want : want.test(value);
}

/**
 * Compares a received head with the model: the fields that keep their place exactly and in
 * order, each added field exactly once with a value of the expected shape, nothing else.
 */
export function assertHead(received: readonly Field[], want: ExpectedHead, what: string): void {
  const upper = received.filter(([n]) => n !== n.toLowerCase());
  assert.deepEqual(upper, [], `${what}: header names are written lowercase`);
  const addedOnly = new Set([...want.added.keys()].filter((n) => !want.base.some(([b]) => b === n)));
  const kept = received.filter(([n]) => !addedOnly.has(n));
  assert.deepEqual(kept, want.base, `${what}: the fields that pass through, in order`);
  for (const [name, expected] of want.added) {
    const got = received.filter(([n]) => n === name).map(([, v]) => v);
    assert.equal(got.length, 1, `${what}: exactly one ${name} (got ${JSON.stringify(got)})`);
    assert.ok(matches(got[0], expected), `${what}: ${name} is ${String(expected)}, got ${JSON.stringify(got[0])}`);
  }
}
