/**
 * Analysis of the live mesh, as `istioctl analyze` analyses a cluster: the resources skiffd holds
 * (or its state directory), with any files given merged over them — a file's resource replaces
 * the live one of the same group, kind, namespace and name, as applying it would. `skiff analyze`
 * and the dashboard's Config view both call `analyzeLive`, so they say the same of the same input.
 */
import type { Resource } from '../api/types.js';
import type { LoadedResource, LoadResult } from '../config/finding.js';
import { groupOf } from './context.js';
import type { AnalysisMessage } from './context.js';
import { analyze, type AnalyzeOptions } from './index.js';

/** The origin given to live resources; messages about them carry no file position (as istioctl's about a cluster). */
const LIVE = '<live>';

const keyOf = (r: Resource): string => `${groupOf(r.apiVersion)}|${r.kind}|${r.metadata.namespace ?? ''}|${r.metadata.name}`;

function liveResource(resource: Resource, docIndex: number): LoadedResource {
  return {
    resource,
    source: { file: LIVE, line: 1, col: 1, docIndex },
    namespaceExplicit: resource.metadata.namespace !== undefined,
    locate: () => ({ file: LIVE }),
  };
}

/**
 * Analyses `live` with `files` (when given) merged over it. Messages about live resources have no
 * origin; those about the files keep their `file:line`.
 */
export function analyzeLive(live: readonly Resource[], files: LoadResult | undefined, opts: AnalyzeOptions): AnalysisMessage[] {
  const replaced = new Set((files?.resources ?? []).map((lr) => keyOf(lr.resource)));
  const kept = live.filter((r) => !replaced.has(keyOf(r))).map(liveResource);
  const input: LoadResult = {
    resources: [...kept, ...(files?.resources ?? [])],
    findings: files?.findings ?? [],
    documents: files?.documents ?? [],
    files: files?.files ?? [],
  };
  return analyze(input, opts).map((m) => {
    if (m.origin?.file !== LIVE) return m;
    const { origin: _origin, ...rest } = m;
    return rest;
  });
}
