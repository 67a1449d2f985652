/**
 * The behaviour of each ratings SERVICE_VERSION. Randomness, delay and toggle period can be
 * pinned through the environment (RATINGS_RANDOM, RATINGS_DELAY_MS, RATINGS_TOGGLE_PERIOD_MS)
 * so that tests and demos need not wait minutes for the documented effect.
 */

export type Outcome = { kind: 'ok' } | { kind: 'delayed'; delayMs: number } | { kind: 'unavailable' } | { kind: 'no-database' };

export interface Variant {
  /** How the next GET /ratings/{id} is answered. */
  outcome(): Outcome;
  /** What /health reports. */
  healthy(): boolean;
  /** v2 reads from a database (not bundled here) and refuses POST. */
  databaseBacked: boolean;
}

type Env = Readonly<Record<string, string | undefined>>;

function numberFrom(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Error(`${name}=${raw} must be a number between ${min} and ${max}`);
  }
  return value;
}

/** Builds the variant named by SERVICE_VERSION (default v1: always answers from memory). */
export function variantFromEnv(env: Env): Variant {
  const version = env.SERVICE_VERSION || 'v1';
  const fixedRandom = env.RATINGS_RANDOM === undefined || env.RATINGS_RANDOM === '' ? undefined : numberFrom(env, 'RATINGS_RANDOM', 0, 0, 1);
  const random = (): number => fixedRandom ?? Math.random();
  const delayMs = numberFrom(env, 'RATINGS_DELAY_MS', 7000, 0, 3_600_000);

  switch (version) {
    case 'v-faulty':
      // Half of the requests fail with 503.
      return { databaseBacked: false, healthy: () => true, outcome: () => (random() <= 0.5 ? { kind: 'unavailable' } : { kind: 'ok' }) };
    case 'v-delayed':
      // Half of the requests are answered only after a long delay.
      return { databaseBacked: false, healthy: () => true, outcome: () => (random() <= 0.5 ? { kind: 'delayed', delayMs } : { kind: 'ok' }) };
    case 'v-unavailable':
    case 'v-unhealthy': {
      // Alternates between serving and failing: every minute, or every 15 minutes when unhealthy
      // (then /health fails too, so the orchestrator sees it).
      const period = numberFrom(env, 'RATINGS_TOGGLE_PERIOD_MS', version === 'v-unhealthy' ? 900_000 : 60_000, 1, 86_400_000);
      const started = Date.now();
      const failing = (): boolean => Math.floor((Date.now() - started) / period) % 2 === 1;
      return {
        databaseBacked: false,
        healthy: () => version !== 'v-unhealthy' || !failing(),
        outcome: () => (failing() ? { kind: 'unavailable' } : { kind: 'ok' }),
      };
    }
    case 'v2':
      // The database-backed version; no database is bundled, so reads fail as the original does
      // when its database is unreachable.
      return { databaseBacked: true, healthy: () => true, outcome: () => ({ kind: 'no-database' }) };
    case 'v1':
      return { databaseBacked: false, healthy: () => true, outcome: () => ({ kind: 'ok' }) };
    default:
      throw new Error(`SERVICE_VERSION=${version} is not one of v1, v2, v-faulty, v-delayed, v-unavailable, v-unhealthy`);
  }
}
