/**
 * Header rules at the proxy boundary: hop-by-hop fields removed in both directions (RFC 9110
 * §7.6.1, including fields the Connection header lists), and the headers Envoy adds to forwarded
 * requests (`x-request-id`, `x-forwarded-proto`, and on gateways `x-forwarded-for`) and responses
 * (`server`, `x-envoy-upstream-service-time`).
 */
import type { ConnectionContext } from '../filters/connection-filter.js';
import type { HeaderList } from './headers.js';
import { hasToken } from './headers.js';
import { newRequestId } from '../../telemetry/random-ids.js';

/**
 * Always hop-by-hop, whatever Connection says. `Trailer` is not among them: it announces
 * end-to-end trailer fields, which the proxy forwards.
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'upgrade', 'proxy-authenticate', 'proxy-authorization']);

/** Lengths of the HOP_BY_HOP names: most fields are ruled out by length, without hashing the name. */
function maybeHopByHop(name: string): boolean {
  const n = name.length;
  return n === 2 || n === 7 || n === 10 || (n >= 16 && n <= 19);
}

/**
 * Fields a Connection header may name without their being removed: they route and frame the
 * message, and a client nominating them would make the proxy forward a request without a Host,
 * or a body without its length.
 */
function neverNominated(token: string): boolean {
  return token === 'host' || token === 'content-length';
}

/**
 * Removes hop-by-hop headers in place. `keepUpgrade` keeps `upgrade` and `connection: upgrade`
 * for a WebSocket handshake, which must reach the upstream. A TE that lists `trailers` passes as
 * `te: trailers` (the one value a proxy may forward; gRPC needs it), as Envoy does.
 */
export function stripHopByHop(headers: HeaderList, keepUpgrade: boolean): void {
  const { names, lower, values } = headers;
  const n = lower.length;
  let listed: string[] | null = null;
  let found = false;
  for (let i = 0; i < n; i++) {
    const name = lower[i];
    if (!maybeHopByHop(name) || !HOP_BY_HOP.has(name)) continue;
    found = true;
    if (name !== 'connection') continue;
    const v = values[i];
    // Almost every Connection header says only keep-alive or close: nothing more to remove then.
    if (v.length === 10 || v.length === 5) {
      const t = v.toLowerCase();
      if (t === 'keep-alive' || t === 'close') continue;
    }
    for (const t of v.split(',')) {
      const tok = t.trim().toLowerCase();
      if (tok !== '' && tok !== 'close' && tok !== 'keep-alive' && tok !== 'upgrade' && !neverNominated(tok)) (listed ??= []).push(tok);
    }
  }
  if (found) {
    // One compacting pass instead of a splice per removed field.
    let teKept = false;
    let w = 0;
    for (let i = 0; i < n; i++) {
      const name = lower[i];
      if ((maybeHopByHop(name) && HOP_BY_HOP.has(name)) || (listed !== null && listed.includes(name))) {
        if (name === 'te' && !teKept && hasToken(values[i], 'trailers')) {
          teKept = true;
          values[i] = 'trailers';
        } else if (!(keepUpgrade && (name === 'upgrade' || name === 'connection'))) continue;
      }
      if (w !== i) {
        names[w] = names[i];
        lower[w] = name;
        values[w] = values[i];
      }
      w++;
    }
    names.length = w;
    lower.length = w;
    values.length = w;
  }
  if (keepUpgrade) {
    headers.set('connection', 'upgrade');
  }
}

/**
 * The request headers Envoy's connection manager sets before routing. `useRemoteAddress` is
 * Envoy's `use_remote_address`, which Istio turns on for gateways only: a gateway appends its
 * peer's address to `x-forwarded-for` and states `x-forwarded-proto` itself; a sidecar leaves
 * x-forwarded-for as it came (apps read the client's address from it) and sets
 * x-forwarded-proto only when absent.
 */
export function addForwardingHeaders(headers: HeaderList, remoteAddress: string, scheme: string, useRemoteAddress: boolean): string {
  let requestId = headers.get('x-request-id');
  if (requestId === undefined || requestId === '') {
    requestId = newRequestId();
    headers.set('x-request-id', requestId);
  }
  if (useRemoteAddress) {
    if (remoteAddress !== '') {
      const ip = remoteAddress.startsWith('::ffff:') ? remoteAddress.slice(7) : remoteAddress;
      const i = headers.indexOf('x-forwarded-for');
      if (i < 0) headers.push('x-forwarded-for', 'x-forwarded-for', ip);
      else headers.values[i] = `${headers.values[i]},${ip}`;
    }
    headers.set('x-forwarded-proto', scheme);
  } else headers.setIfAbsent('x-forwarded-proto', scheme);
  return requestId;
}

const XFCC = 'x-forwarded-client-cert';

/** A connection's XFCC element: its peer and local identity are the connection's, so it is built once per connection. */
const xfccElements = new WeakMap<ConnectionContext, string>();

/**
 * `X-Forwarded-Client-Cert` as Istio configures Envoy's connection manager: a request that came
 * over mutual TLS gets an element describing the client certificate —
 * `By=<this proxy's SPIFFE id>;Hash=<SHA-256 of the client certificate>;Subject="<subject>";URI=<client SPIFFE id>`
 * — appended to what the (verified) client forwarded on a sidecar's inbound listener (Envoy's
 * APPEND_FORWARD) and set in place of it on a gateway (SANITIZE_SET). Every other request has
 * the field removed: on outbound listeners (SANITIZE: an app cannot claim a certificate), and —
 * where Envoy's APPEND_FORWARD would pass it on — on inbound plaintext, since a peer without a
 * verified certificate vouches for none.
 */
export function forwardClientCert(headers: HeaderList, direction: ConnectionContext['direction'], conn: ConnectionContext): void {
  const peer = conn.peerCertificate;
  if (peer === null || direction === 'outbound') {
    headers.remove(XFCC);
    return;
  }
  let element = xfccElements.get(conn);
  if (element === undefined) {
    const by = conn.localIdentity === null ? '' : `By=${conn.localIdentity};`;
    const uri = conn.peerIdentity === null ? '' : `;URI=${conn.peerIdentity}`;
    element = `${by}Hash=${peer.hash};Subject="${peer.subject.replace(/(["\\])/g, '\\$1')}"${uri}`;
    xfccElements.set(conn, element);
  }
  if (direction === 'gateway') headers.set(XFCC, element);
  else {
    const i = headers.indexOf(XFCC);
    if (i < 0) headers.push(XFCC, XFCC, element);
    else headers.values[i] = `${headers.values[i]},${element}`;
  }
}
