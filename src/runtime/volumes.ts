/**
 * A pod's `configMap` and `secret` volumes as files, as the kubelet mounts them: each key (or each
 * `items` entry, at its `path`) a file under the volume's `mountPath`; `subPath` mounts one file.
 * The local runtime has no container file system, so a replica gets its own root directory
 * (`<state-dir>/pods/<ns>/<pod>/root`) and each mount is written under it at the container's path
 * (`/data/ratelimit/config` → `<root>/data/ratelimit/config`). The program finds them two ways:
 * `SKIFF_POD_ROOT` names the root (a program that reads paths from its own config joins them to
 * it), and every environment value and argument that names a mount path, or a path under one,
 * is rewritten to the real directory. Files are written when the replica starts; like the
 * kubelet's, they follow neither later edits of the ConfigMap nor the Secret.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';
import type { Container } from '../api/kinds/kube/container.js';
import type { PodSpec } from '../api/kinds/kube/pod.js';
import type { EnvSources } from './env.js';

/** One mounted volume: files relative to the mount path. */
export interface MountedVolume {
  mountPath: string;
  files: { path: string; content: string; mode?: number }[];
}

export class VolumeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VolumeError';
  }
}

/** The container's configMap and secret mounts with their files; other volume kinds are left to the program. */
export function mountedVolumes(container: Container, pod: PodSpec, namespace: string, sources: EnvSources, where: string): MountedVolume[] {
  const out: MountedVolume[] = [];
  for (const [i, m] of (container.volumeMounts ?? []).entries()) {
    const vol = pod.volumes?.find((v) => v.name === m.name);
    if (vol === undefined) continue;
    let data: Record<string, string> | undefined;
    let items: { key: string; path: string; mode?: number }[] | undefined;
    let optional = false;
    let what: string;
    if (vol.configMap !== undefined) {
      what = `ConfigMap ${namespace}/${vol.configMap.name ?? ''}`;
      data = sources.configMaps.get(`${namespace}/${vol.configMap.name ?? ''}`);
      items = vol.configMap.items;
      optional = vol.configMap.optional === true;
    } else if (vol.secret !== undefined) {
      what = `Secret ${namespace}/${vol.secret.secretName ?? ''}`;
      data = sources.secrets.get(`${namespace}/${vol.secret.secretName ?? ''}`);
      items = vol.secret.items;
      optional = vol.secret.optional === true;
    } else continue;
    const at = `${where}.volumeMounts[${i}] (volume ${m.name})`;
    if (data === undefined) {
      if (optional) continue;
      throw new VolumeError(`${at}: ${what} not found; apply it before the workload`);
    }
    const present = data;
    const chosen: { key: string; path: string; mode?: number }[] = items ?? Object.keys(present).map((key) => ({ key, path: key }));
    let files = chosen.map((it) => {
      if (!(it.key in present)) throw new VolumeError(`${at}: ${what} has no key "${it.key}"`);
      if (it.path.startsWith('/') || normalize(it.path).split(sep).includes('..')) throw new VolumeError(`${at}: item path "${it.path}" must be relative, without ".."`);
      return { path: it.path, content: present[it.key], ...(it.mode === undefined ? {} : { mode: it.mode }) };
    });
    if (m.subPath !== undefined && m.subPath !== '') {
      const one = files.find((f) => f.path === m.subPath);
      if (one === undefined) throw new VolumeError(`${at}: subPath "${m.subPath}" is not a key of ${what}`);
      files = [{ ...one, path: '' }];
    }
    out.push({ mountPath: m.mountPath, files });
  }
  return out;
}

/** The directory that stands for `/` in the replica `pod`. */
export function podRoot(stateDir: string, namespace: string, pod: string): string {
  return join(stateDir, 'pods', namespace, pod, 'root');
}

/** Writes the volumes under `root` (replacing what an earlier start left). */
export function writeVolumes(root: string, volumes: readonly MountedVolume[]): void {
  rmSync(root, { recursive: true, force: true });
  for (const v of volumes) {
    for (const f of v.files) {
      const file = join(root, v.mountPath, f.path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, f.content, { mode: f.mode ?? 0o644 });
    }
  }
}

/** `value` with a leading mount path (the whole value, or followed by `/`) turned into its real directory. */
export function rewriteMountPaths(value: string, root: string, volumes: readonly MountedVolume[]): string {
  for (const v of volumes) {
    const mp = v.mountPath.replace(/\/+$/, '');
    if (value === mp || value.startsWith(`${mp}/`)) return join(root, value);
  }
  return value;
}
