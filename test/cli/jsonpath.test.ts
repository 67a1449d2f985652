import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileJsonPath } from '../../src/cli/jsonpath.js';

const list = {
  apiVersion: 'v1',
  kind: 'List',
  items: [
    { metadata: { name: 'reviews-v1', labels: { app: 'reviews', version: 'v1' } }, status: { phase: 'Running', podIP: '127.0.0.1' }, spec: { ports: [{ port: 9080 }] } },
    { metadata: { name: 'ratings-v1', labels: { app: 'ratings', version: 'v1' } }, status: { phase: 'Pending' }, spec: { ports: [{ port: 9080 }, { port: 9081 }] } },
  ],
};

test('kubectl templates: fields, [*], indexes, filters, several results joined by spaces', () => {
  const cases: [string, string][] = [
    ['{.items[*].metadata.name}', 'reviews-v1 ratings-v1'],
    ['{.items[0].metadata.name}', 'reviews-v1'],
    ['{.items[-1:].metadata.name}', 'ratings-v1'],
    ['{.items[?(@.status.phase=="Pending")].metadata.name}', 'ratings-v1'],
    ['{.items[*].metadata.labels.app}', 'reviews ratings'],
    ['{..podIP}', '127.0.0.1'],
    ['{.kind}', 'List'],
    ['{.items[1].spec.ports}', '[{"port":9080},{"port":9081}]'],
    ['{.items[0].metadata.labels}', '{"app":"reviews","version":"v1"}'],
    ['name: {.items[0].metadata.name}, phase: {.items[0].status.phase}', 'name: reviews-v1, phase: Running'],
    ['{.items[1].status.podIP}', ''],
    ['{.nothing.here}', ''],
  ];
  for (const [template, expected] of cases) assert.equal(compileJsonPath(template)(list), expected, template);
});

test('range and end repeat their body for each result; string literals carry newlines and tabs', () => {
  assert.equal(compileJsonPath('{range .items[*]}{.metadata.name}{"\\t"}{.status.phase}{"\\n"}{end}')(list), 'reviews-v1\tRunning\nratings-v1\tPending\n');
  assert.equal(compileJsonPath('{range .items[*]}[{range .spec.ports[*]}{.port} {end}]{end}')(list), '[9080 ][9080 9081 ]');
  assert.equal(compileJsonPath('{range .items[*]}{@.metadata.name},{end}')(list), 'reviews-v1,ratings-v1,');
});

test('a malformed template is refused with where it went wrong', () => {
  assert.throws(() => compileJsonPath('{.items[*].metadata.name'), /error parsing jsonpath \{\.items\[\*\]\.metadata\.name, unclosed action at position 1/);
  assert.throws(() => compileJsonPath('{range .items[*]}{.metadata.name}'), /a range is not closed with \{end\}/);
  assert.throws(() => compileJsonPath('{.a}{end}'), /not in range, nothing to end at position 5/);
  assert.throws(() => compileJsonPath('{items}'), /unrecognized identifier items/);
});
