/**
 * Translation that survives one bad resource. Resources reach translation validated, so a throw
 * here is a resource that slipped past its schema (another config source) or a case translation
 * does not handle; either way one resource must not stop every proxy's config, as it would in
 * istiod. When translating a proxy throws, the resources that make it throw are found and left
 * out — of every proxy's config, so the mesh stays consistent — and the rest is translated.
 *
 * Finding them: starting from no config, each resource is added in turn, referenced kinds before
 * those that refer to them (ServiceEntry, Sidecar, Telemetry, DestinationRule, Gateway, then
 * VirtualServices with hosts, then delegates), and kept when the proxy still translates with it;
 * one that makes it throw is left out with the error. A throw without any config is not the
 * config's doing and is passed on. This costs one translation per resource, only when
 * translation fails, and what was found is kept for the config generation (the same array), so
 * every other proxy starts from it.
 */
import type { Resource } from '../../api/types.js';
import type { ProxySnapshot } from '../../snapshot/index.js';
import { translate } from './translate.js';
import type { TranslateInput } from './types.js';

/** A resource translation left out, and why. */
export interface LeftOutResource {
  /** `VirtualService default/reviews` (`kind namespace/name`, or `kind name` without a namespace). */
  ref: string;
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  /** What translating it threw. */
  error: string;
}

interface Generation {
  /** Left out so far, by identity. */
  leftOut: Map<string, LeftOutResource>;
  /** The config without them; one array per generation, so proxies share its index. */
  effective: readonly Resource[];
}

/** The order resources are added in: what others refer to first. */
const KIND_ORDER = ['ServiceEntry', 'Sidecar', 'Telemetry', 'DestinationRule', 'Gateway', 'VirtualService'];

function identity(r: Resource): string {
  return `${r.apiVersion}|${r.kind}|${r.metadata.namespace ?? ''}|${r.metadata.name}`;
}

export function resourceRef(r: Pick<Resource, 'kind' | 'metadata'>): string {
  return r.metadata.namespace !== undefined && r.metadata.namespace !== '' ? `${r.kind} ${r.metadata.namespace}/${r.metadata.name}` : `${r.kind} ${r.metadata.name}`;
}

function rank(r: Resource): number {
  const i = KIND_ORDER.indexOf(r.kind);
  if (r.kind === 'VirtualService') {
    // Delegates (no hosts) after the VirtualServices that delegate to them.
    const hosts = (r.spec as { hosts?: unknown } | undefined)?.hosts;
    return Array.isArray(hosts) && hosts.length > 0 ? KIND_ORDER.length : KIND_ORDER.length + 1;
  }
  return i < 0 ? KIND_ORDER.length - 1 : i;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Translates proxies, leaving out the resources that make translation throw. */
export class IsolatingTranslator {
  /** Per config array: what was left out of it. Old generations go with their arrays. */
  private readonly generations = new WeakMap<readonly Resource[], Generation>();

  /**
   * @param found told once per config generation about each resource newly left out.
   */
  constructor(private readonly found: (left: LeftOutResource) => void = () => undefined) {}

  /** The proxy's snapshot from `input.config` without the resources that make translation throw. */
  translate(input: TranslateInput): ProxySnapshot {
    const gen = this.generation(input.config);
    try {
      return translate({ ...input, config: gen.effective });
    } catch (first) {
      return this.isolate(input, gen, first);
    }
  }

  /** What was left out of `config` (the array translation was given) so far. */
  leftOut(config: readonly Resource[]): LeftOutResource[] {
    return [...(this.generations.get(config)?.leftOut.values() ?? [])];
  }

  private generation(config: readonly Resource[]): Generation {
    let gen = this.generations.get(config);
    if (gen === undefined) {
      gen = { leftOut: new Map(), effective: config };
      this.generations.set(config, gen);
    }
    return gen;
  }

  private isolate(input: TranslateInput, gen: Generation, first: unknown): ProxySnapshot {
    const attempt = (config: readonly Resource[]): ProxySnapshot | Error => {
      try {
        return translate({ ...input, config, warn: () => undefined });
      } catch (err) {
        return err instanceof Error ? err : new Error(String(err));
      }
    };
    if (attempt([]) instanceof Error) throw first;
    const candidates = gen.effective.map((r, i) => ({ r, i })).sort((a, b) => rank(a.r) - rank(b.r) || a.i - b.i);
    const kept: Resource[] = [];
    let added = 0;
    for (const { r } of candidates) {
      const result = attempt([...kept, r]);
      if (result instanceof Error) {
        const left: LeftOutResource = {
          ref: resourceRef(r),
          apiVersion: r.apiVersion,
          kind: r.kind,
          ...(r.metadata.namespace !== undefined ? { namespace: r.metadata.namespace } : {}),
          name: r.metadata.name,
          error: describe(result),
        };
        gen.leftOut.set(identity(r), left);
        added++;
        this.found(left);
      } else {
        kept.push(r);
      }
    }
    if (added === 0) throw first;
    // Kept in the config's order, as one array every proxy of this generation shares.
    const out = new Set(gen.leftOut.keys());
    gen.effective = gen.effective.filter((r) => !out.has(identity(r)));
    return translate({ ...input, config: gen.effective });
  }
}
