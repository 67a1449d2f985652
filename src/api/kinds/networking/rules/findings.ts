/**
 * Collects the errors and warnings of Istio's webhook-style checks, each at a field path that
 * starts at the resource root (`spec.http[0].route[1].weight`).
 */
import type { Issue } from '../../../types.js';

export type Path = ReadonlyArray<string | number>;

export class Findings {
  readonly issues: Issue[] = [];

  error(path: Path, message: string): void {
    this.issues.push({ severity: 'error', path: [...path], message });
  }

  warn(path: Path, message: string, code?: string): void {
    this.issues.push(code === undefined ? { severity: 'warning', path: [...path], message } : { severity: 'warning', path: [...path], message, code });
  }

  /** Records each defined problem as an error at `path` (checks return `undefined` when fine). */
  check(path: Path, ...problems: Array<string | undefined>): void {
    for (const p of problems) if (p !== undefined) this.error(path, p);
  }
}

/** `a/b` joined onto a path without mutating it. */
export function at(path: Path, ...more: Array<string | number>): Path {
  return [...path, ...more];
}
