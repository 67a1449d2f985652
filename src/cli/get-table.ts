/**
 * `skiff get` tables: kubectl's columns for each kind (Istio's printer columns for its kinds),
 * `-o wide` extras, a NAMESPACE column with `-A`, ages as kubectl prints them (`5s`, `3m`, `2d`).
 */
import type { Resource } from '../api/types.js';
import type { PodStatus } from '../runtime/types.js';

type Row = Record<string, string>;
interface Columns {
  columns: string[];
  wide?: string[];
  row(r: Resource, ctx: TableContext): Row;
}

export interface TableContext {
  now: number;
  /** The runtime's pods, when skiffd runs (READY of deployments). */
  pods?: readonly PodStatus[];
}

const spec = (r: Resource): Record<string, unknown> => (typeof r.spec === 'object' && r.spec !== null ? (r.spec as Record<string, unknown>) : {});
const list = (v: unknown): string => (Array.isArray(v) ? `[${v.map(String).join(' ')}]` : '');
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : v === undefined ? '' : JSON.stringify(v));

const TABLES: Record<string, Columns> = {
  VirtualService: { columns: ['GATEWAYS', 'HOSTS'], row: (r) => ({ GATEWAYS: list(spec(r).gateways), HOSTS: list(spec(r).hosts) }) },
  DestinationRule: { columns: ['HOST'], row: (r) => ({ HOST: str(spec(r).host) }) },
  Gateway: { columns: [], wide: ['SELECTOR'], row: (r) => ({ SELECTOR: labelsText(spec(r).selector) }) },
  ServiceEntry: {
    columns: ['HOSTS', 'LOCATION', 'RESOLUTION'],
    row: (r) => ({ HOSTS: list(spec(r).hosts), LOCATION: str(spec(r).location), RESOLUTION: str(spec(r).resolution) }),
  },
  WorkloadEntry: { columns: ['ADDRESS'], row: (r) => ({ ADDRESS: str(spec(r).address) }) },
  PeerAuthentication: { columns: ['MODE'], row: (r) => ({ MODE: str((spec(r).mtls as { mode?: unknown } | undefined)?.mode) }) },
  AuthorizationPolicy: { columns: ['ACTION'], row: (r) => ({ ACTION: str(spec(r).action ?? 'ALLOW') }) },
  Namespace: { columns: ['STATUS'], row: (r) => ({ STATUS: str((r.status as { phase?: unknown } | undefined)?.phase ?? 'Active') }) },
  ServiceAccount: { columns: ['SECRETS'], row: () => ({ SECRETS: '0' }) },
  Service: {
    columns: ['TYPE', 'PORT(S)'],
    wide: ['SELECTOR'],
    row: (r) => ({
      TYPE: str(spec(r).type ?? 'ClusterIP'),
      'PORT(S)': Array.isArray(spec(r).ports)
        ? (spec(r).ports as Array<{ port?: unknown; protocol?: unknown }>).map((p) => `${str(p.port)}/${str(p.protocol ?? 'TCP')}`).join(',')
        : '<none>',
      SELECTOR: labelsText(spec(r).selector),
    }),
  },
  Deployment: {
    columns: ['READY', 'UP-TO-DATE', 'AVAILABLE'],
    wide: ['SELECTOR'],
    row: (r, ctx) => {
      const want = typeof spec(r).replicas === 'number' ? (spec(r).replicas as number) : 1;
      const mine = (ctx.pods ?? []).filter((p) => p.deployment === r.metadata.name && p.namespace === r.metadata.namespace);
      const ready = mine.filter((p) => p.ready).length;
      return {
        READY: `${ready}/${want}`,
        'UP-TO-DATE': String(Math.min(mine.length, want)),
        AVAILABLE: String(ready),
        SELECTOR: labelsText((spec(r).selector as { matchLabels?: unknown } | undefined)?.matchLabels),
      };
    },
  },
  ConfigMap: { columns: ['DATA'], row: (r) => ({ DATA: String(countKeys(r.data) + countKeys(r.binaryData)) }) },
  Secret: { columns: ['TYPE', 'DATA'], row: (r) => ({ TYPE: str(r.type ?? 'Opaque'), DATA: String(countKeys(r.data) + countKeys(r.stringData)) }) },
};

export interface ResourceTableOptions {
  wide: boolean;
  allNamespaces: boolean;
  ctx: TableContext;
  /** kubectl's `--show-labels`: a LABELS column last. */
  showLabels?: boolean;
  /** The NAME cell (`virtualservice.networking.istio.io/reviews` when several kinds are listed). */
  displayName?: (name: string) => string;
}

/** The resource table for one kind. */
export function resourceTable(kind: string, resources: readonly Resource[], opts: ResourceTableOptions): string {
  const table = TABLES[kind] ?? { columns: [], row: () => ({}) };
  const columns = ['NAME', ...table.columns, 'AGE', ...(opts.wide ? (table.wide ?? []) : []), ...(opts.showLabels === true ? ['LABELS'] : [])];
  const rows = resources.map((r) => ({
    ...table.row(r, opts.ctx),
    NAME: opts.displayName?.(r.metadata.name) ?? r.metadata.name,
    NAMESPACE: r.metadata.namespace ?? '',
    AGE: age(r.metadata.creationTimestamp, opts.ctx.now),
    LABELS: labelsText(r.metadata.labels),
  }));
  return render(opts.allNamespaces ? ['NAMESPACE', ...columns] : columns, rows);
}

/** `skiff get pods`: NAME READY STATUS RESTARTS AGE PORTS, like kubectl with the local ports added. */
export function podTable(pods: readonly PodStatus[], opts: { wide: boolean; allNamespaces: boolean; now: number; showLabels?: boolean }): string {
  const columns = ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'PORTS', ...(opts.wide ? ['OUTBOUND', 'ADMIN', 'PIDS'] : []), ...(opts.wide || opts.showLabels === true ? ['LABELS'] : [])];
  const rows = pods.map((p) => {
    // kubectl counts containers: the app and, with a sidecar, the proxy (the gateway is the proxy alone).
    const containers = p.kind === 'gateway' || p.ports.outbound === undefined ? 1 : 2;
    return {
      NAMESPACE: p.namespace,
      NAME: p.name,
      READY: `${p.ready ? containers : 0}/${containers}`,
      // A pod waiting for its image to be mapped names the image, so the fix is in view.
      STATUS: p.status === 'ImageNotMapped' && p.image !== undefined ? `ImageNotMapped: ${p.image}` : p.status,
      RESTARTS: String(p.restarts),
      AGE: age(p.startedAt, opts.now),
      PORTS: portsText(p),
      OUTBOUND: p.ports.outbound !== undefined ? String(p.ports.outbound) : '<none>',
      ADMIN: p.ports.admin !== undefined ? String(p.ports.admin) : '<none>',
      PIDS: [p.pids.app !== undefined ? `app=${p.pids.app}` : '', p.pids.proxy !== undefined ? `proxy=${p.pids.proxy}` : ''].filter((s) => s).join(',') || '<none>',
      LABELS: labelsText(p.labels),
    };
  });
  return render(opts.allNamespaces ? ['NAMESPACE', ...columns] : columns, rows);
}

/** `9080→41235` per container port: the port clients' sidecars reach (the app's own port behind it in wide output). */
function portsText(p: PodStatus): string {
  const entries = Object.entries(p.ports.mesh);
  if (entries.length === 0) return '<none>';
  return entries
    .map(([container, mesh]) => {
      const app = p.ports.app[Number(container)];
      return app !== undefined && app !== mesh ? `${container}→${mesh}(app ${app})` : `${container}→${mesh}`;
    })
    .join(',');
}

function render(columns: string[], rows: Row[]): string {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3))).join('').trimEnd();
  return [line(columns), ...rows.map((r) => line(columns.map((c) => r[c] ?? '')))].join('\n') + '\n';
}

/** kubectl's human duration: `45s`, `12m`, `5h`, `3d` (with a second unit while small: `2m5s`, `3h10m`). */
export function age(iso: string | undefined, now: number): string {
  if (iso === undefined) return '<unknown>';
  const ms = now - Date.parse(iso);
  if (!Number.isFinite(ms)) return '<unknown>';
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

function labelsText(v: unknown): string {
  if (typeof v !== 'object' || v === null) return '<none>';
  const entries = Object.entries(v as Record<string, unknown>);
  return entries.length === 0 ? '<none>' : entries.map(([k, val]) => `${k}=${str(val)}`).join(',');
}

function countKeys(v: unknown): number {
  return typeof v === 'object' && v !== null ? Object.keys(v).length : 0;
}
