/**
 * Istio's standard label set, rendered in parts: each part (one side's identity, the destination
 * service) is rendered to Prometheus label text once and interned to a small number, so recording
 * a request only joins a few numbers into a series key and the text is assembled at scrape time.
 */
import type { PeerIdentity } from '../identity.js';

/** Escapes a label value for the Prometheus text format. */
export function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

/** `a="x",b="y"` from pairs, values escaped. */
export function labelText(pairs: readonly (readonly [string, string])[]): string {
  return pairs.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',');
}

export type Side = 'source' | 'destination';

/** One side's eight identity labels (`source_workload` … `source_cluster`). */
export function identityLabels(side: Side, id: PeerIdentity, principal: string): string {
  return labelText([
    [`${side}_workload`, id.workload],
    [`${side}_workload_namespace`, id.namespace],
    [`${side}_principal`, principal],
    [`${side}_app`, id.app],
    [`${side}_version`, id.version],
    [`${side}_canonical_service`, id.canonicalService],
    [`${side}_canonical_revision`, id.canonicalRevision],
    [`${side}_cluster`, id.cluster],
  ]);
}

/** What the destination service labels say: `destination_service` (FQDN) and its short name. */
export interface ServiceLabels {
  readonly host: string;
  readonly name: string;
}

export function serviceLabels(svc: ServiceLabels, namespace: string): string {
  return labelText([
    ['destination_service', svc.host],
    ['destination_service_name', svc.name],
    ['destination_service_namespace', namespace],
  ]);
}

/** Interned label parts: text once per distinct part, a number per use. */
export class LabelParts {
  private readonly texts: string[] = [];
  private readonly ids = new Map<string, number>();
  private readonly identities = [new WeakMap<PeerIdentity, Map<string, number>>(), new WeakMap<PeerIdentity, Map<string, number>>()];
  private readonly services = new WeakMap<ServiceLabels, Map<string, number>>();

  intern(text: string): number {
    let id = this.ids.get(text);
    if (id === undefined) {
      id = this.texts.length;
      this.texts.push(text);
      this.ids.set(text, id);
    }
    return id;
  }

  text(id: number): string {
    return this.texts[id];
  }

  // The last identity looked up per side: requests mostly repeat the same pair of workloads.
  private lastId: [PeerIdentity | null, PeerIdentity | null] = [null, null];
  private lastPrincipal = ['', ''];
  private lastPart = [0, 0];

  /** The part for one side's identity under a principal. */
  identity(side: Side, id: PeerIdentity, principal: string): number {
    const i = side === 'source' ? 0 : 1;
    if (this.lastId[i] === id && this.lastPrincipal[i] === principal) return this.lastPart[i];
    const part = this.lookupIdentity(i, side, id, principal);
    this.lastId[i] = id;
    this.lastPrincipal[i] = principal;
    this.lastPart[i] = part;
    return part;
  }

  private lookupIdentity(i: number, side: Side, id: PeerIdentity, principal: string): number {
    const cache = this.identities[i];
    let byPrincipal = cache.get(id);
    if (byPrincipal === undefined) {
      byPrincipal = new Map();
      cache.set(id, byPrincipal);
    }
    let part = byPrincipal.get(principal);
    if (part === undefined) {
      part = this.intern(identityLabels(side, id, principal));
      byPrincipal.set(principal, part);
    }
    return part;
  }

  /** The part for the destination service in a namespace. */
  service(svc: ServiceLabels, namespace: string): number {
    let byNs = this.services.get(svc);
    if (byNs === undefined) {
      byNs = new Map();
      this.services.set(svc, byNs);
    }
    let part = byNs.get(namespace);
    if (part === undefined) {
      part = this.intern(serviceLabels(svc, namespace));
      byNs.set(namespace, part);
    }
    return part;
  }
}
