/**
 * A captured sidecar's listeners for the `addresses` of ServiceEntries (Istio's `addr_P`): for each
 * address — a single IP, or a CIDR block — and each TCP port of a visible ServiceEntry host, one
 * listener that binds nothing, named `240.0.0.1_5432` or `10.20.0.0/16_5432`, which
 * `virtualOutbound` hands a connection to that address (any address in the block) and port. It
 * proxies the connection as the outbound routes route that host's port — its VirtualService's
 * `tcp` rules, else the ServiceEntry's cluster: with `resolution: NONE` an original-destination
 * cluster (the connection goes where the app sent it), with STATIC or DNS its endpoints.
 *
 * An exact address wins over a block that holds it, and the longest block over a shorter one (the
 * proxy's hand-off decides, `src/proxy/listener/capture.ts`); a block over the port's fallback.
 * HTTP ports are left to the port's listener (`sidecar-port-listeners.ts`), which routes by Host
 * as Istio's does for HTTP services whatever their addresses. (The ServiceEntry's check refuses an
 * address that is neither an IP nor a CIDR; one that got through anyway gets no listener.)
 */
import { isHttpProtocol } from '../../registry/protocol.js';
import { captureDestinationKey, parseCaptureDestination, type CaptureDestination } from '../../snapshot/index.js';
import type { ConfigIndex } from './push-context.js';
import { servicePortListener } from './sidecar-local-services.js';
import type { SharedSidecarPart } from './sidecar-shared.js';
import type { CaptureListenerSet } from './types.js';

/** A ServiceEntry address as a capture destination on `port`; undefined when it is not an IP or CIDR. */
function destinationOf(address: string, port: number): CaptureDestination | undefined {
  const slash = address.indexOf('/');
  const ip = slash < 0 ? address : address.slice(0, slash);
  const written = ip.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  const d = parseCaptureDestination(written);
  return typeof d === 'string' ? undefined : d;
}

/**
 * The address listeners of the ServiceEntries `part`'s sidecars see. `taken` holds the
 * destinations other listeners already stand for (and receives these): the first host that claims
 * an address and port keeps it.
 */
export function entryAddressListeners(index: ConfigIndex, part: SharedSidecarPart, taken: Set<string>): CaptureListenerSet {
  const out: CaptureListenerSet = { listeners: [], routes: [], targets: [] };
  const outbound = part.routes[0];
  for (const svc of part.scope.services) {
    if (svc.source !== 'serviceentry' || svc.addresses === undefined) continue;
    for (const port of svc.ports) {
      if (isHttpProtocol(port.protocol)) continue;
      for (const address of svc.addresses) {
        const d = destinationOf(address, port.port);
        if (d === undefined) continue;
        const destination = captureDestinationKey(d);
        if (taken.has(destination)) continue;
        const shown = d.prefix === undefined ? d.address : `${d.address}/${d.prefix}`;
        const name = `${shown}_${port.port}`;
        const built = servicePortListener(index, outbound, svc, port.port, { name, address: d.address, port: port.port, bindToPort: false, routePrefix: 'captured' });
        if (built === undefined) continue;
        taken.add(destination);
        out.listeners.push(built.listener);
        if (built.route !== undefined) out.routes.push(built.route);
        out.targets.push({ destination, listener: name });
      }
    }
  }
  return out;
}
