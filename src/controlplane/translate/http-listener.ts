/**
 * The options every HTTP listener's connection manager takes from the mesh config, as Istio's
 * listener builder sets them on each connection manager it builds: a sidecar's outbound and
 * inbound listeners and a gateway's.
 */
import type { HttpListenerOptions } from '../../snapshot/index.js';
import type { MeshOptions } from './types.js';

/** A listener's HTTP options: its route config, what the caller adds, and the mesh's path normalisation. */
export function httpListenerOptions(mesh: Pick<MeshOptions, 'pathNormalization'>, routeConfig: string, extra: Omit<HttpListenerOptions, 'routeConfig'> = {}): HttpListenerOptions {
  const out: HttpListenerOptions = { routeConfig, ...extra };
  const normalization = mesh.pathNormalization;
  // DEFAULT is BASE, and BASE is the proxy's default: left out, so a mesh that sets neither gets
  // the snapshots it always had.
  if (normalization !== undefined && normalization !== 'DEFAULT' && normalization !== 'BASE') out.pathNormalization = normalization;
  return out;
}
