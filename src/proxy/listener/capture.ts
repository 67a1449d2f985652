/**
 * Capture listeners (Istio's 15001 and 15006, Envoy's `use_original_dst`): each connection
 * iptables redirected here is handed, by its original destination, to the listener that stands
 * for it — one bound to no port (`bindToPort: false`) — as Envoy hands a connection to the
 * listener whose address matches: the exact `address:port` first, then any address on the port.
 * A connection no target takes stays with the capture listener, which serves it with its own
 * routes (passthrough to the original destination, or the black hole).
 */
import type net from 'node:net';
import { originalDestination, requireOriginalDestination, type OriginalDestination } from '../../capture/original-destination.js';
import { captureKey, type CaptureConfig } from '../../snapshot/index.js';

/** A listener a capture listener hands connections to. */
export interface CaptureTarget {
  /** Serves a handed-off connection as if it had accepted it, with its original destination. */
  adopt(socket: net.Socket, original: OriginalDestination): void;
}

/** Original destination (`address:port` or `:port`) → the listener that takes it. */
export type CaptureTable = ReadonlyMap<string, CaptureTarget>;

/** The table of a capture listener's config over the snapshot's listeners (all validated to exist). */
export function compileCaptureTable(config: CaptureConfig, listeners: ReadonlyMap<string, CaptureTarget>): CaptureTable {
  const table = new Map<string, CaptureTarget>();
  for (const t of config.targets) {
    const target = listeners.get(t.listener);
    if (target !== undefined) table.set(t.destination, target);
  }
  return table;
}

/** The target for a destination: its exact address and port, else any address on its port. */
export function captureTargetFor(table: CaptureTable, dst: OriginalDestination): CaptureTarget | null {
  return table.get(captureKey(dst.address, dst.port)) ?? table.get(captureKey('', dst.port)) ?? null;
}

/** Where a captured connection was going; null when it cannot be read (the socket closed meanwhile). */
export function readOriginalDestination(socket: net.Socket): OriginalDestination | null {
  try {
    return originalDestination(socket);
  } catch {
    return null;
  }
}

/** Throws, naming the addon and how to build it, when original destinations cannot be read: checked before a capture listener binds. */
export function requireCapture(): void {
  requireOriginalDestination();
}

export type { OriginalDestination };
