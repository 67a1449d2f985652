/**
 * The README's "What is enforced" table and the list `skiff apply` warns from say the same: every
 * entry appears in its kind's row, and every field the table calls not enforced has an entry.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { NOT_ENFORCED } from '../../src/api/not-enforced.js';
import { repoRoot } from '../helpers/cli.js';

/** The table's rows: kinds (first column, comma-separated) → the "not enforced yet" column. */
function table(): Map<string, string> {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## What is enforced'));
  const rows = new Map<string, string>();
  for (const line of section.split('\n').slice(1)) {
    if (line.startsWith('## ')) break;
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    if (cells.length !== 3 || cells[0] === 'kind' || cells[0].startsWith('---')) continue;
    for (const kind of cells[0].split(',')) rows.set(kind.trim(), cells[2]);
  }
  return rows;
}

/** The last segments of a field path as the table writes them: `trafficPolicy.loadBalancer.warmup` → `warmup`. */
function leaf(field: string): string {
  return field.split(/[ /]/)[0].split('.').pop()!.replace('[]', '');
}

test('every not-enforced kind and field is in the README table', () => {
  const rows = table();
  for (const entry of NOT_ENFORCED) {
    const row = rows.get(entry.kind);
    assert.ok(row !== undefined, `the README's table has a row for ${entry.kind}`);
    if (entry.field === undefined) assert.match(row, /the whole kind/, `${entry.kind}: the row says the whole kind is not enforced`);
    else assert.ok(row.includes(leaf(entry.field)), `${entry.kind} ${entry.field}: named in the row (${row})`);
  }
});

test('every kind and field the README table calls not enforced has an entry', () => {
  // Values, not fields, that the table quotes.
  const values = new Set(['mode: DISABLE', 'SIMPLE', 'MUTUAL']);
  for (const [kind, row] of table()) {
    if (row.includes('the whole kind')) {
      assert.ok(NOT_ENFORCED.some((e) => e.kind === kind && e.field === undefined), `README says ${kind} is not enforced; src/api/not-enforced.ts has no such entry`);
    }
    const fields = [...row.matchAll(/`([^`]+)`/g)].map((m) => m[1]).filter((f) => !values.has(f));
    for (const f of fields) {
      const names = f.replace(/\(s\)$/, '').split('/');
      for (const name of names) {
        const last = name.split('.').pop()!.replace('[]', '');
        assert.ok(
          NOT_ENFORCED.some((e) => e.kind === kind && e.field !== undefined && e.field.includes(last)),
          `README says ${kind} ${name} is not enforced; src/api/not-enforced.ts has no such entry`,
        );
      }
    }
  }
});
