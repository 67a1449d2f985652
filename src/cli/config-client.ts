/**
 * Where apply, delete and get act: through the API of the skiffd running on the state directory,
 * or — when none runs — on the state directory itself, so config can be prepared before `skiff up`.
 * Both paths answer with the same shapes.
 */
import type { Resource } from '../api/types.js';
import type { InputText } from '../config/sources.js';
import type { ApplyResponse, DeleteResponse } from '../config/store-ops.js';
import type { ConfigStore, ListFilter } from '../config/store.js';
import type { ResourceId } from '../config/store-keys.js';
import type { PodStatus } from '../runtime/types.js';
import { podsFile } from '../runtime/state-file.js';
import { SkiffdApiError, apiRequest, readSkiffdInfo } from './skiffd-client.js';
import type { RunningSkiffd } from './skiffd-client.js';

export interface ConfigClient {
  /** The running skiffd, or undefined when working on the state directory. */
  skiffd: RunningSkiffd | undefined;
  apply(files: InputText[], namespace: string | undefined): Promise<ApplyResponse>;
  deleteFiles(files: InputText[], namespace: string | undefined): Promise<DeleteResponse>;
  deleteIds(ids: ResourceId[]): Promise<DeleteResponse>;
  list(filter: ListFilter): Promise<Resource[]>;
  /**
   * The runtime's pods: from the running skiffd, or — when none runs — as the runtime last
   * recorded them in its state file, each process checked now; undefined when there is no record.
   */
  pods(): Promise<PodStatus[] | undefined>;
  /** Said before pods that come from the state file rather than a running skiffd. */
  readonly podsNote?: string;
}

export async function configClient(stateDir: string): Promise<ConfigClient> {
  const info = await readSkiffdInfo(stateDir);
  return info !== undefined ? apiClient(info) : directClient(stateDir);
}

function apiClient(info: RunningSkiffd): ConfigClient {
  // A refused input comes back as 422 carrying the same body a direct apply returns.
  const refusable = async <T>(path: string, body: unknown): Promise<T> => {
    try {
      return (await apiRequest(info, 'POST', path, body)) as T;
    } catch (err) {
      if (err instanceof SkiffdApiError && err.status === 422) return err.body as T;
      throw err;
    }
  };
  return {
    skiffd: info,
    apply: (files, namespace) => refusable<ApplyResponse>('/api/v1/apply', { files, ...(namespace !== undefined ? { namespace } : {}) }),
    deleteFiles: (files, namespace) => refusable<DeleteResponse>('/api/v1/delete', { files, ...(namespace !== undefined ? { namespace } : {}) }),
    deleteIds: (targets) => refusable<DeleteResponse>('/api/v1/delete', { targets }),
    list: async (filter) => {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(filter)) if (typeof v === 'string') q.set(k, v);
      const body = (await apiRequest(info, 'GET', `/api/v1/resources?${q.toString()}`)) as { items: Resource[] };
      return body.items;
    },
    pods: async () => ((await apiRequest(info, 'GET', '/api/v1/pods')) as { pods: PodStatus[] }).pods,
  };
}

function directClient(stateDir: string): ConfigClient {
  const withStore = async <T>(work: (store: ConfigStore) => Promise<T>): Promise<T> => {
    const { withStore: run } = await import('../config/store.js');
    return run(stateDir, work);
  };
  return {
    skiffd: undefined,
    apply: async (files, namespace) => {
      const { applyTexts } = await import('../config/store-ops.js');
      return withStore((store) => applyTexts(store, files, namespace));
    },
    deleteFiles: async (files, namespace) => {
      const { deleteTexts } = await import('../config/store-ops.js');
      return withStore((store) => deleteTexts(store, files, namespace));
    },
    deleteIds: async (ids) => {
      const { deleteIds } = await import('../config/store-ops.js');
      return withStore((store) => deleteIds(store, ids));
    },
    list: async (filter) => {
      // Reading needs no lock: the store file is replaced atomically.
      const { ConfigStore } = await import('../config/store.js');
      const store = await ConfigStore.open(stateDir, { lock: false });
      return store.list(filter);
    },
    pods: async () => {
      const { recordedPods } = await import('../runtime/recorded-pods.js');
      return recordedPods(stateDir);
    },
    podsNote: `skiffd is not running: pods as the runtime last recorded them (${podsFile(stateDir)}), each process checked now. Start it with \`skiff up\`.\n`,
  };
}
