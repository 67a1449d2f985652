/**
 * What skiffd keeps in step with its config source: the mesh configuration handed to translation
 * (recomputed only after a change), and the workload resources handed to the workload provider
 * that runs them.
 */
import type { Resource } from '../api/types.js';
import type { ConfigSource } from '../config/source.js';
import { isWorkloadResource } from '../config/store-keys.js';
import type { WorkloadProvider } from '../registry/workload-provider.js';

/**
 * The mesh configuration (Istio kinds, and Secrets: the TLS credentials Gateway servers and
 * DestinationRules name by `credentialName`) of the source, recomputed only when the source changed.
 */
export class ConfigCache {
  private version = -1;
  private items: Resource[] = [];
  constructor(private readonly source: ConfigSource) {}

  mesh(): Resource[] {
    if (this.version !== this.source.resourceVersion) {
      this.items = this.source.list().filter((r) => !isWorkloadResource(r) || r.kind === 'Secret');
      this.version = this.source.resourceVersion;
    }
    return this.items;
  }
}

/**
 * Hands the source's workload resources to the provider after each change, one sync at a time
 * (changes during a sync coalesce into the next). Without a provider there is nothing to run:
 * the workloads are someone else's (Kubernetes' kubelet), and `synced` is true at once.
 */
export class WorkloadSync {
  private running: Promise<void> = Promise.resolve();
  private pending = false;
  synced: boolean;

  constructor(
    private readonly source: ConfigSource,
    private readonly provider: WorkloadProvider | undefined,
    private readonly log: (line: string) => void,
  ) {
    this.synced = provider === undefined;
  }

  changed(): void {
    const provider = this.provider;
    if (provider === undefined || this.pending) return;
    this.pending = true;
    this.running = this.running.then(async () => {
      this.pending = false;
      const resources = this.source.list().filter(isWorkloadResource);
      try {
        await provider.sync(resources);
        this.synced = true;
      } catch (err) {
        this.log(`skiffd: workloads not synced: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
  }

  idle(): Promise<void> {
    return this.running;
  }
}
