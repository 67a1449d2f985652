import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findingToJson, formatFinding } from '../../src/config/format.js';
import { loadText } from '../../src/config/load.js';

const VS = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - route:
    - destination:
        host: reviews
      weight: 4294967296
`;

test('a finding prints as file:line:col: severity: resource: path: message, with a caret excerpt', () => {
  const { findings } = loadText('samples/x.yaml', VS);
  const weight = findings.find((f) => f.path.join('.') === 'spec.http.0.route.0.weight');
  assert.ok(weight, JSON.stringify(findings));
  const [head, source, caret] = formatFinding(weight, { excerpt: true }).split('\n');
  assert.match(head, /^samples\/x\.yaml:11:15: error: VirtualService\/default\/reviews: spec\.http\[0\]\.route\[0\]\.weight: /);
  assert.equal(source, ' 11 |       weight: 4294967296');
  assert.equal(caret, '    |               ^');
  assert.equal(formatFinding(weight).split('\n').length, 1, 'no excerpt unless asked');
});

test('colours are ANSI escapes only when enabled', () => {
  const { findings } = loadText('x.yaml', VS.replace('hosts: [reviews]', 'hosts: reviews'));
  assert.ok(findings.length > 0);
  const ESC = '\u001b';
  assert.equal(formatFinding(findings[0]).includes(ESC), false);
  assert.ok(formatFinding(findings[0], { color: true }).includes(`${ESC}[31merror:${ESC}[39m`));
});

test('JSON form names the path as text and the position as numbers', () => {
  const { findings } = loadText('x.yaml', VS.replace('hosts: [reviews]', 'hosts: reviews'));
  const json = findingToJson(findings[0]);
  assert.deepEqual(
    { ...json, message: typeof json.message },
    { severity: 'error', message: 'string', file: 'x.yaml', line: 6, column: 10, resource: 'VirtualService/default/reviews', path: 'spec.hosts' },
  );
});
