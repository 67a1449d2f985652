/**
 * The control-plane benchmark: N simulated proxies connected to skiffd with 1000 services, timing
 * a config change to the last proxy's ACK, with skiffd's CPU and memory. The result shape and the
 * sizes are fixed here; the run itself needs skiffd's push server, and until the control plane
 * serves proxies the suite reports itself as not run.
 */

/** Proxy counts measured, and the services in the registry for each. */
export const CONTROL_PLANE_SIZES = [100, 1000, 2000] as const;
export const CONTROL_PLANE_SERVICES = 1000;

export interface ControlPlaneMeasurement {
  proxies: number;
  services: number;
  /** From the config change being written to the last proxy acknowledging the new snapshot. */
  change_to_last_ack_ms: number;
  skiffd_cpu_s: number;
  skiffd_rss_mb: number;
}

export type ControlPlaneResult = { status: 'measured'; rows: ControlPlaneMeasurement[] } | { status: 'not-run'; reason: string };

/** Target: a change reaches 1000 proxies within this many milliseconds. */
export const CONTROL_PLANE_TARGET_MS = 1000;

export async function runControlPlaneBench(): Promise<ControlPlaneResult> {
  return {
    status: 'not-run',
    reason: 'skiffd does not serve proxy snapshots yet (no push server in src/controlplane); this suite measures it once it does',
  };
}

export function notRequested(): ControlPlaneResult {
  return { status: 'not-run', reason: 'not requested (run with --suite all or --suite controlplane)' };
}
