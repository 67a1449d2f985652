/**
 * Header rules at the proxy boundary: hop-by-hop fields removed in both directions (RFC 9110
 * §7.6.1, including fields the Connection header lists), and the headers Envoy adds to forwarded
 * requests (`x-request-id`, `x-forwarded-for`, `x-forwarded-proto`) and responses (`server`,
 * `x-envoy-upstream-service-time`).
 */
import type { HeaderList } from './headers.js';
import { newRequestId } from '../../telemetry/random-ids.js';

/** Always hop-by-hop, whatever Connection says. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'upgrade', 'trailer', 'proxy-authenticate', 'proxy-authorization']);

/** Lengths of the HOP_BY_HOP names: most fields are ruled out by length, without hashing the name. */
function maybeHopByHop(name: string): boolean {
  const n = name.length;
  return n === 2 || n === 7 || n === 10 || (n >= 16 && n <= 19);
}

/**
 * Removes hop-by-hop headers in place. `keepUpgrade` keeps `upgrade` and `connection: upgrade`
 * for a WebSocket handshake, which must reach the upstream.
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
      if (tok !== '' && tok !== 'close' && tok !== 'keep-alive' && tok !== 'upgrade') (listed ??= []).push(tok);
    }
  }
  if (found) {
    // One compacting pass instead of a splice per removed field.
    let w = 0;
    for (let i = 0; i < n; i++) {
      const name = lower[i];
      if ((maybeHopByHop(name) && HOP_BY_HOP.has(name)) || (listed !== null && listed.includes(name))) {
        const keep =
          // TE: trailers is the one hop-by-hop value a proxy may pass on (gRPC needs it).
          (name === 'te' && values[i].trim().toLowerCase() === 'trailers') || (keepUpgrade && (name === 'upgrade' || name === 'connection'));
        if (!keep) continue;
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

/** The request headers Envoy's connection manager sets before routing. */
export function addForwardingHeaders(headers: HeaderList, remoteAddress: string, scheme: string, overwriteProto: boolean): string {
  let requestId = headers.get('x-request-id');
  if (requestId === undefined || requestId === '') {
    requestId = newRequestId();
    headers.set('x-request-id', requestId);
  }
  if (remoteAddress !== '') {
    const ip = remoteAddress.startsWith('::ffff:') ? remoteAddress.slice(7) : remoteAddress;
    const i = headers.indexOf('x-forwarded-for');
    if (i < 0) headers.push('x-forwarded-for', 'x-forwarded-for', ip);
    else headers.values[i] = `${headers.values[i]},${ip}`;
  }
  if (overwriteProto) headers.set('x-forwarded-proto', scheme);
  else headers.setIfAbsent('x-forwarded-proto', scheme);
  return requestId;
}
