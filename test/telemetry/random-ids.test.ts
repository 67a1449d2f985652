import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newRequestId, randomHex } from '../../src/telemetry/random-ids.js';

describe('pooled random ids', () => {
  test('request ids are version 4 UUIDs, all different, across several pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const id = newRequestId();
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      seen.add(id);
    }
    assert.equal(seen.size, 5000);
  });

  test('hex ids have the asked width, differ, and use every digit', () => {
    const seen = new Set<string>();
    const digits = new Set<string>();
    // 70k × 16 digits runs through more than one block of pooled text.
    for (let i = 0; i < 70_000; i++) {
      const id = randomHex(i % 2 === 0 ? 16 : 32);
      assert.equal(id.length, i % 2 === 0 ? 16 : 32);
      assert.match(id, /^[0-9a-f]+$/);
      seen.add(id);
      for (const c of id.slice(0, 2)) digits.add(c);
    }
    assert.equal(seen.size, 70_000);
    assert.equal(digits.size, 16);
  });
});
