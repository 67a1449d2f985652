/** Table-driven checks of networking.istio.io resources through Skiff's real validator. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateResource, type ValidationResult } from '../../../src/api/validate.js';
import { formatPath, type Issue } from '../../../src/api/types.js';

export function validate(
  kind: string,
  spec: unknown,
  metadata: Record<string, unknown> = { name: 'x', namespace: 'default' },
  version = 'v1',
): ValidationResult {
  return validateResource({ apiVersion: `networking.istio.io/${version}`, kind, metadata, spec });
}

/** `error spec.http[0].route: total destination weight = 0` */
export function render(issues: readonly Issue[]): string[] {
  return issues.map((i) => `${i.severity} ${formatPath(i.path)}: ${i.message}`);
}

export interface Case {
  name: string;
  spec: unknown;
  /** One rendered issue that must be reported (exact text, or a pattern for long RE2 messages). */
  expect: string | RegExp;
  metadata?: Record<string, unknown>;
}

/** One test per case: the expected finding is reported, and an error finding rejects the resource. */
export function runCases(kind: string, cases: readonly Case[]): void {
  for (const c of cases) {
    test(`${kind}: ${c.name}`, () => {
      const result = validate(kind, c.spec, c.metadata);
      const out = render(result.issues);
      const found = out.some((line) => (typeof c.expect === 'string' ? line === c.expect : c.expect.test(line)));
      assert.ok(found, `expected ${String(c.expect)}\n  got: ${JSON.stringify(out, null, 2)}`);
      const isError = typeof c.expect === 'string' ? c.expect.startsWith('error ') : c.expect.source.startsWith('^error ');
      if (isError) assert.equal(result.resource, undefined, 'an error must reject the resource');
    });
  }
}

/** Asserts that `spec` validates with no findings at all. */
export function assertClean(kind: string, spec: unknown, metadata?: Record<string, unknown>): void {
  const result = validate(kind, spec, metadata);
  assert.deepEqual(render(result.issues), []);
  assert.ok(result.resource, 'a valid resource comes back');
}
