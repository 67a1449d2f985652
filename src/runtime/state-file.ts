/**
 * The runtime's pod table on disk, `<state-dir>/runtime/pods.json`: every running pod with its
 * ports, process ids, log files and exec environment. `skiff logs` and `skiff exec` read it, and
 * a runtime started after its predecessor was killed adopts the processes it lists.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PodPhase, PodPorts } from './types.js';

export interface PodRecord {
  name: string;
  namespace: string;
  kind: 'workload' | 'gateway';
  /** The workload it belongs to: `Deployment/ns/name`, `Pod/ns/name` or `Gateway/ns/name`. */
  owner: string;
  deployment?: string;
  /** Pod template hash: an adopted pod must match the desired template. */
  hash: string;
  labels: Record<string, string>;
  serviceAccount: string;
  image?: string;
  containerPortNames: Record<number, string>;
  ports: PodPorts;
  pids: { app?: number; proxy?: number };
  /** The push URL the proxy was started with. */
  controlPlaneUrl?: string;
  status: PodPhase;
  ready: boolean;
  restarts: number;
  startedAt: string;
  logs: { app: string; proxy: string };
  /** What `skiff exec` runs commands with: the container's env, HOSTNAME and the sidecar as HTTP_PROXY. */
  execEnv: Record<string, string>;
  /** Programs of the image for `skiff exec`: name → argv. */
  tools: Record<string, string[]>;
}

export interface RuntimeStateFile {
  format: 1;
  /** The process hosting the runtime that wrote the file. */
  pid: number;
  updatedAt: string;
  pods: PodRecord[];
}

export function podsFile(stateDir: string): string {
  return join(stateDir, 'runtime', 'pods.json');
}

export function logFilePath(stateDir: string, namespace: string, pod: string, container: 'app' | 'proxy'): string {
  return join(stateDir, 'logs', namespace, pod, `${container}.log`);
}

/** The pod table, or undefined when there is none (or it cannot be read). */
export function readPodsFile(stateDir: string): RuntimeStateFile | undefined {
  try {
    const parsed = JSON.parse(readFileSync(podsFile(stateDir), 'utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const o = parsed as Partial<RuntimeStateFile>;
    if (o.format !== 1 || !Array.isArray(o.pods)) return undefined;
    return o as RuntimeStateFile;
  } catch {
    return undefined;
  }
}

/** Replaces the pod table in one rename, so readers never see half a file. */
export function writePodsFile(stateDir: string, pods: PodRecord[]): void {
  const file = podsFile(stateDir);
  mkdirSync(join(stateDir, 'runtime'), { recursive: true });
  const content: RuntimeStateFile = { format: 1, pid: process.pid, updatedAt: new Date().toISOString(), pods };
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(content, null, 1)}\n`);
  renameSync(tmp, file);
}
