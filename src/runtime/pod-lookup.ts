/**
 * Finding a pod the way kubectl's `logs` and `exec` do, by pod name or by Deployment
 * (`NAME`, `deploy/NAME`, `pod/NAME`), in the pod table of a state directory — and, for logs of
 * pods that no longer run, among the log directories they left.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { logFilePath, readPodsFile, type PodRecord } from './state-file.js';

export interface PodRef {
  /** Pod name, or Deployment name when `byDeployment` (or when no pod has that name). */
  name: string;
  byDeployment: boolean;
  byPod: boolean;
}

/** Parses `NAME`, `deploy/NAME`, `deployment/NAME`, `deployments/NAME`, `pod/NAME`, `pods/NAME`. */
export function parsePodRef(text: string): PodRef {
  const slash = text.indexOf('/');
  if (slash < 0) return { name: text, byDeployment: false, byPod: false };
  const kind = text.slice(0, slash).toLowerCase();
  const name = text.slice(slash + 1);
  if (['deploy', 'deployment', 'deployments', 'deployment.apps', 'deployments.apps'].includes(kind)) return { name, byDeployment: true, byPod: false };
  if (['pod', 'pods', 'po'].includes(kind)) return { name, byDeployment: false, byPod: true };
  throw new Error(`cannot use "${text}": only pods and deployments (pod/NAME, deploy/NAME) are supported`);
}

/** Ready pods first, then running ones, then the newest. */
function preference(a: PodRecord, b: PodRecord): number {
  const rank = (p: PodRecord): number => (p.ready ? 0 : p.status === 'Running' ? 1 : 2);
  return rank(a) - rank(b) || (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : 0);
}

/** The pod `ref` names in `namespace`, from the pod table; undefined when none matches. */
export function findPod(stateDir: string, ref: PodRef, namespace: string): PodRecord | undefined {
  const pods = (readPodsFile(stateDir)?.pods ?? []).filter((p) => p.namespace === namespace && p.status !== 'Terminating');
  if (!ref.byDeployment) {
    const exact = pods.find((p) => p.name === ref.name);
    if (exact !== undefined || ref.byPod) return exact;
  }
  return pods.filter((p) => p.deployment === ref.name).sort(preference)[0];
}

/** Names of the pods in the table, for "not found" messages. */
export function podNames(stateDir: string, namespace: string): string[] {
  return (readPodsFile(stateDir)?.pods ?? []).filter((p) => p.namespace === namespace).map((p) => p.name);
}

/**
 * The log file of a pod that is no longer in the table: its own log directory, or the most
 * recently written one of the Deployment's pods (`NAME-<hash>-<suffix>`).
 */
export function findLeftLog(stateDir: string, ref: PodRef, namespace: string, container: 'app' | 'proxy'): string | undefined {
  const dir = join(stateDir, 'logs', namespace);
  if (!existsSync(dir)) return undefined;
  const own = logFilePath(stateDir, namespace, ref.name, container);
  if (!ref.byDeployment && existsSync(own)) return own;
  if (ref.byPod) return undefined;
  const pattern = new RegExp(`^${ref.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-[a-z0-9]{6,10}-[a-z0-9]{5}$`);
  const candidates = readdirSync(dir)
    .filter((d) => pattern.test(d))
    .map((d) => logFilePath(stateDir, namespace, d, container))
    .filter((f) => existsSync(f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return candidates[0];
}
