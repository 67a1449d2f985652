/**
 * The mirror filter (Istio `HTTPRoute.mirror` / `mirrors`): which clusters get a shadow copy of a
 * request, each drawn independently by its percentage, and the authority a shadow carries. The
 * request path sends the shadows beside the request and never waits for them.
 */
import { RouteConfigError } from '../../../snapshot/index.js';
import type { MirrorPolicy } from '../../../snapshot/index.js';
import { draw, percentToPerMillion } from '../sampling.js';

interface CompiledMirror {
  readonly cluster: string;
  readonly perMillion: number;
}

const NO_MIRRORS: readonly string[] = Object.freeze([]);

/** A route's mirrors, compiled. */
export class MirrorFilter {
  readonly name = 'mirror';

  constructor(private readonly mirrors: readonly CompiledMirror[]) {}

  /** Clusters to mirror one request to; the shared empty list when none is drawn. */
  clustersFor(random: () => number): readonly string[] {
    const ms = this.mirrors;
    let out: string[] | null = null;
    for (let i = 0; i < ms.length; i++) {
      const m = ms[i];
      if (draw(m.perMillion, random)) (out ??= []).push(m.cluster);
    }
    return out ?? NO_MIRRORS;
  }
}

/** Compiles a route's mirrors; null when none can fire. Throws `RouteConfigError` naming the field. */
export function compileMirrors(mirrors: readonly MirrorPolicy[] | undefined, where: string): MirrorFilter | null {
  const compiled: CompiledMirror[] = [];
  (mirrors ?? []).forEach((m, i) => {
    const at = `${where}[${i}]`;
    if (typeof m.cluster !== 'string' || m.cluster === '') throw new RouteConfigError(`${at}.cluster`, 'must be a non-empty string');
    const perMillion = m.percent === undefined ? 1_000_000 : percentToPerMillion(m.percent, `${at}.percent`);
    if (perMillion > 0) compiled.push({ cluster: m.cluster, perMillion });
  });
  return compiled.length === 0 ? null : new MirrorFilter(compiled);
}

/** The authority a mirrored request carries: `-shadow` appended to the host, port kept (Envoy). */
export function shadowAuthority(authority: string): string {
  const colon = authority.lastIndexOf(':');
  const bracket = authority.lastIndexOf(']');
  if (colon > bracket && colon > 0 && /^\d+$/.test(authority.slice(colon + 1))) {
    return `${authority.slice(0, colon)}-shadow${authority.slice(colon)}`;
  }
  return `${authority}-shadow`;
}
