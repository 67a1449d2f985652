/**
 * The applied configuration with what `skiff analyze` says of each resource: the store's
 * resources analyzed as the live mesh across every namespace (`analyzeLive`, the analysis
 * `skiff analyze -A` runs on the same resources), each message attached to the resource it names
 * (messages naming none are left out: there is no resource to show them beside).
 */
import { analyzeLive } from '../../analyze/live.js';
import type { AnalysisMessage } from '../../analyze/index.js';
import type { Resource } from '../../api/types.js';
import type { ConfigEntry } from '../../dashboard/sources.js';

const keyOf = (kind: string, namespace: string | undefined, name: string): string => `${kind}|${namespace ?? ''}|${name}`;

export function configEntries(resources: readonly Resource[]): ConfigEntry[] {
  let messages: AnalysisMessage[];
  try {
    messages = analyzeLive(resources, undefined, { namespace: 'default', allNamespaces: true });
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
