/**
 * Istio's percentages as Envoy draws them: per-million precision, an independent draw per
 * decision. Shared by the filters that apply to a share of requests (fault, mirror).
 */
import { RouteConfigError } from '../../snapshot/index.js';

/** Istio's percent (0..100, fractional) as parts per million, truncated as Istio converts it. */
export function percentToPerMillion(percent: number | undefined, where: string): number {
  if (percent === undefined) return 0;
  if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100) {
    throw new RouteConfigError(where, `percentage must be between 0 and 100, got ${String(percent)}`);
  }
  return Math.trunc(percent * 10_000);
}

/** True with probability perMillion / 1e6 (Envoy's `random % 1000000 < numerator`). */
export function draw(perMillion: number, random: () => number): boolean {
  if (perMillion <= 0) return false;
  if (perMillion >= 1_000_000) return true;
  return Math.floor(random() * 1_000_000) < perMillion;
}
