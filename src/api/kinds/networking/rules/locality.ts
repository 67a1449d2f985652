/**
 * Istio's checks of locality load balancing: distribute or failover (not both), weights summing
 * to 100, well-formed and non-overlapping `region/zone/subzone` localities.
 */
import type { OutlierDetection } from '../destination-rule.js';
import type { LocalityLoadBalancerSetting } from '../load-balancer.js';
import { at, type Findings, type Path } from './findings.js';

const TOPOLOGY_LABELS = ['topology.kubernetes.io/region', 'topology.kubernetes.io/zone', 'topology.istio.io/subzone'];

export function checkLocality(lb: LocalityLoadBalancerSetting | undefined, od: OutlierDetection | undefined, path: Path, f: Findings): void {
  if (lb === undefined) return;
  const distribute = lb.distribute ?? [];
  const failover = lb.failover ?? [];
  const priority = lb.failoverPriority ?? [];
  if (distribute.length > 0 && failover.length > 0) {
    f.error(path, "can not simultaneously specify 'distribute' and 'failover'");
    return;
  }
  if (failover.length > 0) {
    const label = priority.find((l) => TOPOLOGY_LABELS.includes(l));
    if (label !== undefined) {
      f.error(at(path, 'failoverPriority'), `can not simultaneously set 'failover' and topology label '${label}' in 'failover_priority'`);
      return;
    }
  }
  for (let i = 0; i < distribute.length; i++) {
    const d = distribute[i];
    const to = Object.entries(d?.to ?? {});
    let total = 0;
    for (const [, weight] of to) {
      if (weight <= 0 || weight > 100) {
        f.error(at(path, 'distribute', i, 'to'), 'locality weight must be in range [1, 100]');
        return;
      }
      total += weight;
    }
    if (total !== 100) {
      f.error(at(path, 'distribute', i, 'to'), `total locality weight ${total} != 100`);
      return;
    }
    f.check(at(path, 'distribute', i, 'to'), localitiesProblem(to.map(([loc]) => loc)));
  }
  f.check(at(path, 'distribute'), localitiesProblem(distribute.map((d) => d.from ?? '')));
  if ((failover.length > 0 || priority.length > 0) && od === undefined) {
    f.warn(path, 'outlier detection policy must be provided for failover');
  }
  failover.forEach((fo, i) => {
    const p = at(path, 'failover', i);
    const from = fo.from ?? '';
    const to = fo.to ?? '';
    if (from === to) f.error(p, 'locality lb failover settings must specify different regions');
    if (from.includes('/') || to.includes('/')) f.error(p, 'locality lb failover only specify region');
    if (from.includes('*') || to.includes('*')) f.error(p, "locality lb failover region should not contain '*' wildcard");
  });
}

/** Localities are `region[/zone[/subzone]]`, with `*` only as the last character; none may overlap. */
function localitiesProblem(localities: readonly string[]): string | undefined {
  // region -> zone -> subzones; "*" marks "everything below".
  const tree = new Map<string, Map<string, Set<string>>>();
  for (const locality of localities) {
    const stars = locality.split('*').length - 1;
    if (stars > 1 || (stars === 1 && !locality.endsWith('*'))) {
      return `locality ${locality} wildcard '*' number can not exceed 1 and must be in the end`;
    }
    const overlap = `locality ${locality} overlap with previous specified ones`;
    if (tree.has('*')) return overlap;
    const parts = locality.split('/');
    const items = parts.length > 3 ? [...parts.slice(0, 2), parts.slice(2).join('/')] : parts;
    if (items.some((p) => p === '')) return `locality ${locality} must not contain empty region/zone/subzone info`;
    const [region = '', zone = '', subzone = ''] = items;
    const zones = tree.get(region);
    if (items.length === 1) {
      if (zones) return overlap;
      tree.set(region, new Map([['*', new Set(['*'])]]));
    } else if (items.length === 2) {
      if (zones?.has('*') || zones?.has(zone)) return overlap;
      (zones ?? tree.set(region, new Map()).get(region))?.set(zone, new Set(['*']));
    } else {
      if (zones?.has('*')) return overlap;
      const subs = zones?.get(zone);
      if (subs?.has('*') || subs?.has(subzone)) return overlap;
      if (subs) subs.add(subzone);
      else (zones ?? tree.set(region, new Map()).get(region))?.set(zone, new Set([subzone]));
    }
  }
  return undefined;
}
