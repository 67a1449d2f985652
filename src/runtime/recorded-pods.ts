/**
 * The pods as the runtime last recorded them (`<state-dir>/runtime/pods.json`), for when skiffd
 * is not running: its runtime is gone, but the processes it started may well run on (a killed
 * skiffd leaves them to be adopted). Each recorded process is checked now, so a pod whose app or
 * proxy has since exited is not shown as running.
 */
import { alive } from './process.js';
import { readPodsFile } from './state-file.js';
import type { PodRecord } from './state-file.js';
import type { PodStatus } from './types.js';

/** The recorded pods with their processes checked; undefined when none is recorded (a runtime stopped cleanly records none). */
export function recordedPods(stateDir: string): PodStatus[] | undefined {
  const pods = readPodsFile(stateDir)?.pods;
  return pods === undefined || pods.length === 0 ? undefined : pods.map(checked);
}

function checked(r: PodRecord): PodStatus {
  const gone = (['app', 'proxy'] as const).filter((which) => r.pids[which] !== undefined && !alive(r.pids[which]));
  const pids: PodStatus['pids'] = {};
  for (const which of ['app', 'proxy'] as const) {
    const pid = r.pids[which];
    if (pid !== undefined && !gone.includes(which)) pids[which] = pid;
  }
  const running = pids.app !== undefined || pids.proxy !== undefined;
  const status: PodStatus = {
    name: r.name,
    namespace: r.namespace,
    ...(r.deployment !== undefined ? { deployment: r.deployment } : {}),
    kind: r.kind,
    ready: r.ready && gone.length === 0,
    status: gone.length === 0 ? r.status : running ? 'Error' : r.status === 'Completed' ? 'Completed' : 'Error',
    restarts: r.restarts,
    startedAt: r.startedAt,
    ports: r.ports,
    labels: r.labels,
    serviceAccount: r.serviceAccount,
    ...(r.image !== undefined ? { image: r.image } : {}),
    pids,
  };
  if (gone.length > 0) status.reason = `${gone.join(' and ')} no longer running`;
  return status;
}
