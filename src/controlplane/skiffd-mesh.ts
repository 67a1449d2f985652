/**
 * The mesh config, read live: skiffd follows the ConfigMap `istio` in `istio-system` of its
 * config source and, on every change to it, parses its `mesh` key. A valid one takes effect at
 * once (the caller pushes); a malformed one is reported — key and line — and the last good mesh
 * config stays in force, so pushes never stop; a deleted ConfigMap (or one without `mesh`) means
 * Istio's defaults. Warnings (fields unknown or not acted on) are logged once per change.
 */
import type { MeshConfig } from '../api/mesh-config.js';
import type { Resource } from '../api/types.js';
import { describeMeshIssue, isMeshConfigMap, MESH_CONFIG_MAP, meshTextOf, parseMeshConfig } from '../config/mesh-config.js';
import type { ConfigSource } from '../config/source.js';
import type { MeshConfigStatus } from './api-types.js';

export type { MeshConfigStatus } from './api-types.js';

const WHERE = `ConfigMap ${MESH_CONFIG_MAP.namespace}/${MESH_CONFIG_MAP.name}`;

export interface MeshConfigWatcherOptions {
  log: (line: string) => void;
  /** Called after the mesh config in force changed. */
  changed: () => void;
}

export class MeshConfigWatcher {
  private current: MeshConfig = {};
  private state: MeshConfigStatus = { source: 'defaults', warnings: [] };

  constructor(
    private readonly source: ConfigSource,
    private readonly opts: MeshConfigWatcherOptions,
  ) {}

  /** Reads the mesh config the source holds now and follows its changes; returns a function that stops. */
  start(): () => void {
    const stop = this.source.subscribe((e) => {
      if (!isMeshConfigMap(e.resource)) return;
      if (e.type === 'DELETED') this.useDefaults('deleted');
      else this.read(e.resource);
    });
    const found = this.source.get({ group: '', kind: 'ConfigMap', namespace: MESH_CONFIG_MAP.namespace, name: MESH_CONFIG_MAP.name });
    if (found !== undefined) this.read(found, false);
    return stop;
  }

  /** The mesh config in force: the last good one read (empty: Istio's defaults). */
  get config(): MeshConfig {
    return this.current;
  }

  status(): MeshConfigStatus {
    return structuredClone(this.state);
  }

  private read(r: Resource, announce = true): void {
    const version = r.metadata.resourceVersion;
    const text = meshTextOf(r);
    if (text === undefined) {
      this.useDefaults(`has no "${MESH_CONFIG_MAP.key}" key`, announce, version);
      return;
    }
    const parsed = parseMeshConfig(text);
    const describe = (severity: 'error' | 'warning'): string[] =>
      parsed.issues.filter((i) => i.severity === severity).map((i) => `${WHERE} data.${MESH_CONFIG_MAP.key} ${describeMeshIssue(i)}`);
    const errors = describe('error');
    const warnings = describe('warning');
    for (const line of [...errors, ...warnings]) this.opts.log(`skiffd: mesh config: ${line}`);
    if (parsed.config === undefined) {
      // The proxies keep being served the mesh config in force; the bad one is only reported.
      this.state = { ...this.state, rejected: { ...(version !== undefined ? { resourceVersion: version } : {}), errors } };
      const kept = this.state.source === 'defaults' ? "Istio's default mesh config stays" : 'the last good mesh config stays';
      this.opts.log(`skiffd: mesh config: ${WHERE} not applied (${errors.length === 1 ? 'an error' : `${errors.length} errors`}); ${kept} in force`);
      return;
    }
    this.current = parsed.config;
    this.state = { source: WHERE, ...(version !== undefined ? { resourceVersion: version } : {}), warnings };
    if (announce) this.opts.log(`skiffd: mesh config from ${WHERE}${version !== undefined ? ` (resourceVersion ${version})` : ''} in force`);
    this.opts.changed();
  }

  private useDefaults(why: string, announce = true, version?: string): void {
    const had = this.state.source !== 'defaults';
    this.current = {};
    this.state = { source: 'defaults', warnings: [] };
    if (announce && had) this.opts.log(`skiffd: ${WHERE} ${why}; Istio's default mesh config in force${version !== undefined ? ` (resourceVersion ${version})` : ''}`);
    this.opts.changed();
  }
}
