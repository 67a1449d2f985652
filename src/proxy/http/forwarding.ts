/**
 * Header rules at the proxy boundary: hop-by-hop fields removed in both directions (RFC 9110
 * §7.6.1, including fields the Connection header lists), and the headers Envoy adds to forwarded
 * requests (`x-request-id`, `x-forwarded-for`, `x-forwarded-proto`) and responses (`server`,
 * `x-envoy-upstream-service-time`).
 */
import { randomUUID } from 'node:crypto';
import type { HeaderList } from './headers.js';

/** Always hop-by-hop, whatever Connection says. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'upgrade', 'trailer', 'proxy-authenticate', 'proxy-authorization']);

/**
 * Removes hop-by-hop headers in place. `keepUpgrade` keeps `upgrade` and `connection: upgrade`
 * for a WebSocket handshake, which must reach the upstream.
 */
export function stripHopByHop(headers: HeaderList, keepUpgrade: boolean): void {
  const lower = headers.lower;
  let listed: string[] | null = null;
  for (let i = 0; i < lower.length; i++) {
    if (lower[i] === 'connection') {
      for (const t of headers.values[i].split(',')) {
        const tok = t.trim().toLowerCase();
        if (tok !== '' && tok !== 'close' && tok !== 'keep-alive' && tok !== 'upgrade') (listed ??= []).push(tok);
      }
    }
  }
  for (let i = lower.length - 1; i >= 0; i--) {
    const n = lower[i];
    if (!HOP_BY_HOP.has(n) && (listed === null || !listed.includes(n))) continue;
    // TE: trailers is the one hop-by-hop value a proxy may pass on (gRPC needs it).
    if (n === 'te' && headers.values[i].trim().toLowerCase() === 'trailers') continue;
    if (keepUpgrade && (n === 'upgrade' || n === 'connection')) continue;
    headers.removeAt(i);
  }
  if (keepUpgrade) {
    headers.set('connection', 'upgrade');
  }
}

/** The request headers Envoy's connection manager sets before routing. */
export function addForwardingHeaders(headers: HeaderList, remoteAddress: string, scheme: string, overwriteProto: boolean): string {
  let requestId = headers.get('x-request-id');
  if (requestId === undefined || requestId === '') {
    requestId = randomUUID();
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
