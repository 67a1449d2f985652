/**
 * The error a snapshot that cannot be applied raises, and the field checks every part's
 * validation is written with: each names the offending field's path.
 */

/** A snapshot that cannot be applied; `path` names the field (`listeners[1].port`). */
export class SnapshotError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'SnapshotError';
  }
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function obj(v: unknown, at: string): Obj {
  if (!isObj(v)) throw new SnapshotError(at, `must be an object, got ${describe(v)}`);
  return v;
}

export function list(v: unknown, at: string): unknown[] {
  if (!Array.isArray(v)) throw new SnapshotError(at, `must be a list, got ${describe(v)}`);
  return v;
}

export function str(v: unknown, at: string, allowEmpty = false): string {
  if (typeof v !== 'string' || (!allowEmpty && v === '')) throw new SnapshotError(at, `must be a non-empty string, got ${describe(v)}`);
  return v;
}

export function oneOf<T extends string>(v: unknown, allowed: readonly T[], at: string): T {
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
  throw new SnapshotError(at, `must be one of ${allowed.join(', ')}, got ${describe(v)}`);
}

export function int(v: unknown, at: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new SnapshotError(at, `must be an integer ${min}..${max}, got ${describe(v)}`);
  }
  return v;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'an object' : JSON.stringify(v);
}

export function stringMap(v: unknown, at: string): Record<string, string> {
  const o = obj(v, at);
  for (const [k, val] of Object.entries(o)) str(val, `${at}.${k}`, true);
  return o as Record<string, string>;
}

export function optionalMs(v: unknown, at: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new SnapshotError(at, `must be a number of milliseconds >= 0, got ${describe(v)}`);
  return v;
}
