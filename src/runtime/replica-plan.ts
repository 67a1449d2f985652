/**
 * What one pod of the runtime is made of: its plan (what it runs, built from a workload's spec
 * or for the gateway), what it shares with its runtime, and helpers over its ports.
 */
import type { Probe } from '../api/kinds/kube/container.js';
import type { WorkloadSink } from '../registry/types.js';
import type { PodPorts } from './types.js';
import type { ContainerPortSpec } from './workload-spec.js';
import type { MountedVolume } from './volumes.js';

/** What a pod runs; built from a WorkloadSpec (or for the gateway) by the runtime. */
export interface ReplicaPlan {
  name: string;
  namespace: string;
  kind: 'workload' | 'gateway';
  owner: string;
  deployment?: string;
  hash: string;
  labels: Record<string, string>;
  serviceAccount: string;
  image?: string;
  /** The app container's name (absent for the gateway, which is its proxy alone). */
  containerName?: string;
  containerPorts: ContainerPortSpec[];
  app?: {
    argv: string[];
    env: Record<string, string>;
    probe?: Probe;
    restartPolicy: 'Always' | 'OnFailure' | 'Never';
    /** The replica's root directory and the volumes written under it before the app starts. */
    files?: { root: string; volumes: MountedVolume[] };
  };
  /** The proxy's argv (sidecar or gateway); absent without a sidecar. */
  proxyArgv?: string[];
  proxyId?: string;
  graceMs: number;
  execEnv: Record<string, string>;
  tools: Record<string, string[]>;
}

/** What every replica shares with its runtime. */
export interface ReplicaContext {
  /** Where the replica publishes its workload instance. */
  registry: WorkloadSink;
  stateDir: string;
  cwd: string;
  controlPlaneUrl: string;
  /** Environment every process starts from (the host's, without proxy settings). */
  baseEnv: Record<string, string>;
  backoff: { initial: number; max: number };
  log: (line: string) => void;
  logProxies: boolean;
  /** Called after any change of status or readiness. */
  changed: () => void;
}

export function allPorts(p: PodPorts): number[] {
  return [
    ...Object.values(p.app),
    ...Object.values(p.mesh),
    ...(p.outbound === undefined ? [] : [p.outbound]),
    ...(p.admin === undefined ? [] : [p.admin]),
    ...(p.services ?? []).map((s) => s.localPort),
  ];
}

export function portNames(ports: readonly ContainerPortSpec[]): Record<number, string> {
  const out: Record<number, string> = {};
  for (const p of ports) if (p.name !== undefined) out[p.containerPort] = p.name;
  return out;
}

export function namesToPorts(ports: readonly ContainerPortSpec[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of ports) if (p.name !== undefined) out[p.name] = p.containerPort;
  return out;
}
