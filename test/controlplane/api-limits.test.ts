/**
 * What one apply may cost skiffd: a 4 MB apply is parsed off its event loop (its status keeps
 * being answered until the apply's own answer comes), a body beyond the request limit is answered
 * 413 while it is still being sent, and the parser's worker bounds memory and time on its own —
 * an input that would exhaust its heap or outlast its time limit is refused, and the next one is
 * read by a fresh worker.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSkiffd } from '../../src/controlplane/skiffd.js';
import type { Skiffd } from '../../src/controlplane/skiffd.js';
import { apiRequest, SkiffdApiError } from '../../src/cli/skiffd-client.js';
import type { ApplyResponse, SkiffdStatus } from '../../src/controlplane/api-types.js';
import { InputCostError, InputParser } from '../../src/config/input-parser.js';

/** `count` ConfigMaps of about `size` bytes each, as one multi-document text. */
function configMaps(prefix: string, count: number, size: number): string {
  const filler = 'the quick brown fox jumps over the lazy dog '.repeat(Math.ceil(size / 44)).slice(0, size);
  return Array.from({ length: count }, (_, i) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${prefix}-${i}\ndata:\n  a: "${filler}"\n  b: plain\n`).join('---\n');
}

describe('skiffd under a large apply', () => {
  let dir = '';
  let skiffd: Skiffd;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skiff-api-limits-'));
    skiffd = await startSkiffd({ stateDir: dir, apiPort: 0, pushPort: 0, dashboardPort: false });
  });
  after(async () => {
    await skiffd.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('a 4 MB apply of 2000 resources: status is answered while it is read, then all of it is applied', async () => {
    const files = [0, 1, 2, 3].map((f) => ({ name: `part-${f}.yaml`, text: configMaps(`cm${f}`, 500, 2000) }));
    assert.ok(files.reduce((n, f) => n + f.text.length, 0) > 4_000_000);
    let answered = false;
    const apply = apiRequest(skiffd, 'POST', '/api/v1/apply', { files }).finally(() => (answered = true)) as Promise<ApplyResponse>;
    let statusesBefore = 0;
    while (!answered) {
      const status = (await apiRequest(skiffd, 'GET', '/api/v1/status')) as SkiffdStatus;
      assert.equal(status.pid, process.pid);
      if (!answered) statusesBefore++;
    }
    const result = await apply;
    assert.ok(result.ok, JSON.stringify(result).slice(0, 500));
    assert.equal(result.applied.length, 2000);
    assert.ok(statusesBefore >= 1, 'status was answered while the apply was being read');
    assert.equal(skiffd.config.list({ kind: 'ConfigMap' }).length, 2000);
  });

  test('15 MB of "[" is answered 413 as it arrives; skiffd then answers and applies as before', async () => {
    const text = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: brackets\ndata:\n  k: ${'['.repeat(15_000_000)}\n`;
    const err = await apiRequest(skiffd, 'POST', '/api/v1/apply', { files: [{ name: 'brackets.yaml', text }] }).then(
      () => assert.fail('expected a refusal'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof SkiffdApiError, String(err));
    assert.equal(err.status, 413);
    assert.match(err.message, /larger than 8 MiB \(8388608 bytes\), the limit of one request/);
    const after = (await apiRequest(skiffd, 'POST', '/api/v1/apply', { files: [{ name: 'small.yaml', text: configMaps('small', 1, 10) }] })) as ApplyResponse;
    assert.ok(after.ok);
  });
});

describe("the parser's worker", () => {
  test('an input that would exhaust its heap is refused naming the limit; the next input is read by a fresh worker', async () => {
    const parser = new InputParser({ maxHeapMb: 16 });
    try {
      // Each document is within the input limits; together they need far more than 16 MB to parse.
      const keys = Array.from({ length: 20_000 }, (_, i) => `  k${i}: [a, b, {c: d}]`).join('\n');
      const doc = (i: number): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: m${i}\ndata:\n${keys}\n`;
      const inputs = Array.from({ length: 8 }, (_, i) => ({ name: `m${i}.yaml`, text: doc(i) }));
      await assert.rejects(parser.forApply(inputs), (e: unknown) => e instanceof InputCostError && /needed more than 16 MB of memory, the limit of one request/.test(e.message));
      const next = await parser.forApply([{ name: 'ok.yaml', text: configMaps('ok', 2, 10) }]);
      assert.ok(next.ok);
      assert.equal(next.ok && next.resources.length, 2);
    } finally {
      await parser.close();
    }
  });

  test('an input that outlasts the time limit is stopped; requests queued behind it are still answered', async () => {
    const parser = new InputParser({ timeoutMs: 1 });
    try {
      const slow = parser.forApply([{ name: 'many.yaml', text: configMaps('slow', 3000, 100) }]);
      const queued = parser.forDelete([{ name: 'one.yaml', text: configMaps('q', 1, 10) }]);
      await assert.rejects(slow, (e: unknown) => e instanceof InputCostError && /took longer than 0\.001 s, the limit of one request; it was stopped/.test(e.message));
      // The limit also stops the queued one when it outlasts it; either way it is answered.
      await queued.then(
        (r) => assert.equal(r.targets.length, 1),
        (e: unknown) => assert.ok(e instanceof InputCostError),
      );
    } finally {
      await parser.close();
    }
  });
});
