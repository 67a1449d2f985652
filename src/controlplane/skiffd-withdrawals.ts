/**
 * Which registry changes withdraw an endpoint: a workload instance that was ready and now is not,
 * or is gone. Those are pushed without the debounce's quiet period — the runtime saw the replica's
 * app exit, so every request still sent to it fails until the proxies hear of it — while every
 * other change (a new or ready-again endpoint, a Service) waits for the quiet period as usual.
 */
import type { WorkloadInstance } from '../registry/types.js';

export class WithdrawalWatch {
  private ready = new Set<string>();

  /** Notes the registry's workloads as they are now; true when one that was ready no longer is. */
  withdrawn(workloads: readonly WorkloadInstance[]): boolean {
    const now = new Set<string>();
    for (const w of workloads) if (w.ready) now.add(`${w.namespace}/${w.name}`);
    let withdrawn = false;
    for (const key of this.ready) {
      if (!now.has(key)) {
        withdrawn = true;
        break;
      }
    }
    this.ready = now;
    return withdrawn;
  }
}
