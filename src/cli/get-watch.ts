/**
 * `skiff get -w`: after the list, each change as kubectl prints it — a row per changed item
 * (no header again), or the object in the chosen output. Resources are followed through skiffd's
 * watch API (`/api/v1/watch`, from the version the list was taken at, so nothing between the two
 * is missed); pods, which the runtime holds rather than the store, are read every second and a
 * row is printed when one appears, goes, or changes status, readiness or restarts.
 * Runs until interrupted (SIGINT, SIGTERM) or skiffd goes away.
 */
import { request } from 'node:http';
import type { Resource } from '../api/types.js';
import type { StoreEvent } from '../config/source.js';
import type { PodStatus } from '../runtime/types.js';
import { inScope, render, type Output, type Scope, type Section, type TableOptions } from './get-output.js';
import { apiRequest } from './skiffd-client.js';
import type { ApiEndpoint } from './skiffd-client.js';

const POD_POLL_MS = 1000;

/** `text` less its header line (tables only): watch rows follow the first table's header. */
function rows(text: string, output: Output, withHeader: boolean): string {
  if (withHeader || (output.kind !== 'table' && output.kind !== 'wide')) return text;
  return text.split('\n').slice(1).join('\n');
}

const podKey = (p: PodStatus): string => `${p.status}|${p.ready}|${p.restarts}`;

export async function watchSections(
  endpoint: ApiEndpoint,
  fromVersion: number,
  sections: readonly Section[],
  output: Output,
  opts: TableOptions & { single: boolean; header: boolean },
  scope: Scope,
): Promise<void> {
  let header = opts.header;
  const print = (section: Section): void => {
    const text = render([section], output, { ...opts, single: true });
    if (text === '') return;
    process.stdout.write(rows(text, output, header));
    header = false;
  };
  const stops: (() => void)[] = [];
  const done = new Promise<void>((resolve) => {
    const stop = (): void => {
      for (const s of stops) s();
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    process.stdout.once('error', stop);
    stops.push(() => {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
    });
    const podSection = sections.find((s) => 'pods' in s);
    if (podSection !== undefined && 'pods' in podSection) stops.push(followPods(endpoint, podSection, scope, print, stop));
    const kinds = sections.filter((s) => 'resources' in s).map((s) => s.def);
    if (kinds.length > 0) stops.push(followResources(endpoint, fromVersion, kinds, scope, print, stop));
  });
  await done;
}

function followPods(endpoint: ApiEndpoint, section: Section & { pods: PodStatus[] }, scope: Scope, print: (s: Section) => void, gone: () => void): () => void {
  const last = new Map(section.pods.map((p) => [`${p.namespace}/${p.name}`, { key: podKey(p), pod: p }]));
  let timer: NodeJS.Timeout | undefined;
  const poll = async (): Promise<void> => {
    let pods: PodStatus[];
    try {
      pods = inScope(((await apiRequest(endpoint, 'GET', '/api/v1/pods')) as { pods: PodStatus[] }).pods, scope, (p) => p, true);
    } catch {
      gone();
      return;
    }
    const changed: PodStatus[] = [];
    const now = new Set<string>();
    for (const p of pods) {
      const id = `${p.namespace}/${p.name}`;
      now.add(id);
      if (last.get(id)?.key !== podKey(p)) changed.push(p);
      last.set(id, { key: podKey(p), pod: p });
    }
    // A pod that went is shown once more, as kubectl shows a deleted one: its last row, Terminating.
    for (const [id, { pod }] of last) {
      if (now.has(id)) continue;
      last.delete(id);
      if (pod.status !== 'Terminating') changed.push({ ...pod, status: 'Terminating', ready: false });
    }
    if (changed.length > 0) print({ def: section.def, pods: changed });
    timer = setTimeout(() => void poll(), POD_POLL_MS);
  };
  timer = setTimeout(() => void poll(), POD_POLL_MS);
  return () => clearTimeout(timer);
}

function followResources(endpoint: ApiEndpoint, fromVersion: number, kinds: readonly Section['def'][], scope: Scope, print: (s: Section) => void, gone: () => void): () => void {
  const url = new URL(`/api/v1/watch?resourceVersion=${fromVersion}`, endpoint.apiUrl);
  const req = request(url, { headers: { accept: 'application/x-ndjson', ...(endpoint.apiToken !== undefined ? { authorization: `Bearer ${endpoint.apiToken}` } : {}) } }, (res) => {
    let buffered = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim() !== '') onEvent(JSON.parse(line) as StoreEvent | { type: 'ERROR'; error: string });
      }
    });
    res.on('end', gone);
    res.on('error', gone);
  });
  const onEvent = (e: StoreEvent | { type: 'ERROR'; error: string }): void => {
    if (e.type === 'ERROR') {
      process.stderr.write(`watch ended: ${e.error}\n`);
      gone();
      return;
    }
    const r: Resource = e.resource;
    const def = kinds.find((k) => k.kind === r.kind && (k.group === '' ? !r.apiVersion.includes('/') : r.apiVersion.startsWith(`${k.group}/`)));
    if (def === undefined || inScope([r], scope, (x) => x.metadata, def.namespaced).length === 0) return;
    print({ def, resources: [r] });
  };
  req.on('error', gone);
  req.end();
  return () => req.destroy();
}
