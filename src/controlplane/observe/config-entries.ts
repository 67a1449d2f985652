/**
 * The applied configuration with what `skiff analyze` says of each resource: the store's
 * resources analyzed as one set across every namespace, each message attached to the resource
 * it names (messages naming none are left out: there is no resource to show them beside).
 */
import { analyze } from '../../analyze/index.js';
import type { AnalysisMessage } from '../../analyze/index.js';
import type { Resource } from '../../api/types.js';
import type { LoadedResource } from '../../config/finding.js';
import type { ConfigEntry } from '../../dashboard/sources.js';

const STORE = 'skiffd store';

function loaded(resource: Resource, docIndex: number): LoadedResource {
  return {
    resource,
    source: { file: STORE, line: 1, col: 1, docIndex },
    namespaceExplicit: resource.metadata.namespace !== undefined,
    locate: () => ({ file: STORE }),
  };
}

const keyOf = (kind: string, namespace: string | undefined, name: string): string => `${kind}|${namespace ?? ''}|${name}`;

export function configEntries(resources: readonly Resource[]): ConfigEntry[] {
  let messages: AnalysisMessage[];
  try {
    messages = analyze({ resources: resources.map(loaded), findings: [], documents: [], files: [STORE] }, { namespace: 'default', allNamespaces: true });
  } catch {
    // The resources are worth showing even when analysis fails.
    messages = [];
  }
  const byResource = new Map<string, ConfigEntry['messages']>();
  for (const m of messages) {
    if (m.resource === undefined) continue;
    const key = keyOf(m.resource.kind, m.resource.namespace, m.resource.name);
    let list = byResource.get(key);
    if (list === undefined) byResource.set(key, (list = []));
    list.push({ code: m.code, level: m.level, message: m.message });
  }
  return resources.map((resource) => ({
    resource,
    messages: byResource.get(keyOf(resource.kind, resource.metadata.namespace || undefined, resource.metadata.name)) ?? [],
  }));
}
