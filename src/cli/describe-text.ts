/**
 * `skiff describe` text, laid out as kubectl describe lays it out: aligned `Field:  value` lines,
 * labels one per line, a pod's containers with their state (a waiting one with its reason and
 * message), a Deployment's replica counts and pods, and Events saying why something does not
 * run — the reason a pod waits and how to fix it, where kubectl shows the kubelet's events.
 */
import { stringify } from 'yaml';
import type { Resource } from '../api/types.js';
import type { PodStatus } from '../runtime/types.js';
import { age, podTable } from './get-table.js';
import { PROXY_CONTAINER, hasSidecar, podObject, podPhase } from './pod-object.js';

type Field = [name: string, value: string | string[]];

/** `Name:  value` lines, values aligned one column past the longest name; list values continue under the first. */
function fields(rows: readonly Field[], indent = ''): string[] {
  const width = Math.max(...rows.map(([n]) => n.length + 1)) + 2;
  const out: string[] = [];
  for (const [name, value] of rows) {
    const values = Array.isArray(value) ? (value.length === 0 ? ['<none>'] : value) : [value];
    out.push(`${indent}${`${name}:`.padEnd(width)}${values[0]}`.trimEnd());
    for (const v of values.slice(1)) out.push(`${indent}${' '.repeat(width)}${v}`);
  }
  return out;
}

const labelLines = (labels: Record<string, string> | undefined): string[] => Object.entries(labels ?? {}).map(([k, v]) => `${k}=${v}`);

interface Event {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

function events(list: readonly Event[]): string[] {
  if (list.length === 0) return ['Events:  <none>'];
  const rows = list.map((e) => ({ Type: e.type, Reason: e.reason, From: 'skiff-runtime', Message: e.message }));
  const cols = ['Type', 'Reason', 'From', 'Message'] as const;
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => r[c].length)));
  const line = (cells: readonly string[]): string => `  ${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] + 2))).join('')}`.trimEnd();
  return ['Events:', line(cols), line(cols.map((c) => '-'.repeat(c.length))), ...rows.map((r) => line(cols.map((c) => r[c])))];
}

/** Why a pod does not run, as an event; none while it runs. */
function podEvent(p: PodStatus): Event | undefined {
  if (p.ready || p.reason === undefined) return undefined;
  const warning = p.status === 'ImageNotMapped' || p.status === 'CreateContainerConfigError' || p.status === 'CrashLoopBackOff' || p.status === 'Error';
  return { type: warning ? 'Warning' : 'Normal', reason: p.status === 'Running' ? 'NotReady' : p.status, message: p.reason };
}

function stateLines(state: Record<string, Record<string, unknown>>): Field[] {
  const [kind, detail] = Object.entries(state)[0] ?? ['waiting', {}];
  const out: Field[] = [['State', kind[0].toUpperCase() + kind.slice(1)]];
  for (const [k, v] of Object.entries(detail)) out.push([`  ${k[0].toUpperCase()}${k.slice(1).replace(/[A-Z]/g, (c) => ` ${c}`)}`, String(v)]);
  return out;
}

/** `skiff describe pod NAME`. */
export function describePod(p: PodStatus): string {
  const obj = podObject(p) as { spec: { containers: { name: string; image?: string; ports: { containerPort: number; hostPort?: number }[] }[] }; status: { containerStatuses: { name: string; ready: boolean; restartCount: number; state: Record<string, Record<string, unknown>> }[] } };
  const hash = p.labels['pod-template-hash'];
  const lines = fields([
    ['Name', p.name],
    ['Namespace', p.namespace],
    ['Service Account', p.serviceAccount],
    ['Start Time', p.startedAt],
    ['Labels', labelLines(p.labels)],
    ['Status', p.status === 'Terminating' ? 'Terminating' : podPhase(p.status)],
    ['IP', '127.0.0.1'],
    ['Controlled By', p.deployment !== undefined ? `ReplicaSet/${hash !== undefined ? `${p.deployment}-${hash}` : p.deployment}` : '<none>'],
  ]);
  lines.push('Containers:');
  obj.spec.containers.forEach((c, i) => {
    const s = obj.status.containerStatuses.find((x) => x.name === c.name);
    lines.push(`  ${c.name}:`);
    const rows: Field[] = [];
    if (c.image !== undefined) rows.push(['Image', c.image]);
    if (c.name === PROXY_CONTAINER && hasSidecar(p)) rows.push(['Image', 'skiff proxy (sidecar)']);
    const ports = c.ports.map((port) => `${port.containerPort}/TCP${port.hostPort !== undefined && port.hostPort !== port.containerPort ? ` (on 127.0.0.1:${port.hostPort})` : ''}`);
    rows.push([c.ports.length > 1 ? 'Ports' : 'Port', ports.length === 0 ? '<none>' : ports]);
    if (s !== undefined) rows.push(...stateLines(s.state), ['Ready', s.ready ? 'True' : 'False'], ['Restart Count', String(s.restartCount)]);
    const pid = i === 0 && p.kind !== 'gateway' ? p.pids.app : p.pids.proxy;
    if (pid !== undefined) rows.push(['Process', String(pid)]);
    lines.push(...fields(rows, '    '));
  });
  lines.push('Conditions:', '  Type     Status', `  Ready    ${p.ready ? 'True' : 'False'}`);
  const event = podEvent(p);
  lines.push(...events(event !== undefined ? [event] : []));
  return `${lines.join('\n')}\n`;
}

/** `skiff describe deploy NAME`: its spec's essentials, replica counts, its pods and why they do not run. */
export function describeDeployment(d: Resource, pods: readonly PodStatus[], now: number): string {
  const spec = (d.spec ?? {}) as { replicas?: number; selector?: { matchLabels?: Record<string, string> }; template?: { metadata?: { labels?: Record<string, string> }; spec?: { containers?: { name: string; image?: string }[] } } };
  const want = spec.replicas ?? 1;
  const available = pods.filter((p) => p.ready).length;
  const lines = fields([
    ['Name', d.metadata.name],
    ['Namespace', d.metadata.namespace ?? 'default'],
    ['CreationTimestamp', d.metadata.creationTimestamp ?? '<unknown>'],
    ['Labels', labelLines(d.metadata.labels)],
    ['Selector', Object.entries(spec.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || '<none>'],
    ['Replicas', `${want} desired | ${Math.min(pods.length, want)} updated | ${pods.length} total | ${available} available | ${Math.max(0, pods.length - available)} unavailable`],
  ]);
  lines.push('Pod Template:', ...fields([['Labels', labelLines(spec.template?.metadata?.labels)]], '  '), '  Containers:');
  for (const c of spec.template?.spec?.containers ?? []) lines.push(`   ${c.name}:`, ...fields([['Image', c.image ?? '<none>']], '    '));
  lines.push('Pods:');
  lines.push(pods.length === 0 ? '  <none>' : podTable(pods, { wide: false, allNamespaces: false, now }).trimEnd().split('\n').map((l) => `  ${l}`).join('\n'));
  const seen = new Set<string>();
  const list: Event[] = [];
  for (const p of pods) {
    const e = podEvent(p);
    if (e === undefined || seen.has(`${e.reason}|${e.message}`)) continue;
    seen.add(`${e.reason}|${e.message}`);
    list.push(e);
  }
  lines.push(...events(list));
  return `${lines.join('\n')}\n`;
}

/** Any other kind: its identity, labels and annotations, then its spec (or data) as YAML. */
export function describeResource(r: Resource, now: number): string {
  const lines = fields([
    ['Name', r.metadata.name],
    ...(r.metadata.namespace !== undefined ? ([['Namespace', r.metadata.namespace]] as Field[]) : []),
    ['Labels', labelLines(r.metadata.labels)],
    ['Annotations', labelLines(r.metadata.annotations)],
    ['API Version', r.apiVersion],
    ['Kind', r.kind],
    ['Age', age(r.metadata.creationTimestamp, now)],
  ]);
  if (r.kind === 'Secret') {
    // As kubectl: a Secret's values are not printed, only their sizes.
    const data = { ...((r.data ?? {}) as Record<string, string>), ...((r.stringData ?? {}) as Record<string, string>) };
    lines.push(`Type:  ${typeof r.type === 'string' ? r.type : 'Opaque'}`, 'Data', '====', ...Object.entries(data).map(([k, v]) => `${k}:  ${Buffer.byteLength(v, 'base64')} bytes`));
  } else {
    for (const key of ['spec', 'data'] as const) {
      const value = (r as Record<string, unknown>)[key];
      if (value === undefined || (key === 'spec' && (r.data !== undefined || r.kind === 'Namespace'))) continue;
      lines.push(`${key[0].toUpperCase()}${key.slice(1)}:`, ...stringify(value).trimEnd().split('\n').map((l) => `  ${l}`));
    }
  }
  lines.push('Events:  <none>');
  return `${lines.join('\n')}\n`;
}
