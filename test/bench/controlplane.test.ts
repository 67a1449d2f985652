import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { controlPlaneTable, median, summariseChanges } from '../../bench/controlplane-report.js';
import type { ControlPlaneMeasurement } from '../../bench/controlplane-report.js';
import { servicesYaml, virtualServiceYaml } from '../../bench/controlplane-messages.js';
import { parseAllDocuments } from 'yaml';
import { parseOptions } from '../../bench/options.js';

const row = (proxies: number, changeMs: number): ControlPlaneMeasurement => ({
  proxies,
  services: 1000,
  workloads: Math.max(proxies, 1000),
  initial_sync_ms: 800,
  change_to_last_ack_ms: changeMs,
  change_samples_ms: [changeMs, changeMs + 10, changeMs - 10],
  skiffd_cpu_s: 0.42,
  skiffd_rss_mb: 123.4,
  snapshot_kb: 860,
  change_message_kb: 1.25,
});

describe('control-plane benchmark report', () => {
  test('the median of the changes and of skiffd CPU is reported with every sample in order', () => {
    const s = summariseChanges([
      { writtenAt: 1000, lastAckAt: 1900, cpuS: 1.5, messageBytes: 4096 },
      { writtenAt: 5000, lastAckAt: 5300, cpuS: 0.5, messageBytes: 1024 },
      { writtenAt: 9000, lastAckAt: 9500, cpuS: 0.7, messageBytes: 2048 },
    ]);
    assert.deepEqual(s, { change_to_last_ack_ms: 500, change_samples_ms: [900, 300, 500], skiffd_cpu_s: 0.7, change_message_kb: 2 });
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });

  test('the table has one row per size and says whether 1000 proxies met the target', () => {
    const met = controlPlaneTable({ status: 'measured', rows: [row(100, 120), row(1000, 640)], failed: [{ proxies: 2000, reason: 'no synced within 600000 ms:\nstderr tail' }] });
    const lines = met.split('\n');
    assert.match(lines[0], /^\| proxies \| services \|/);
    assert.equal(lines[2], '| 100 | 1000 | 800 | 120 | 120, 130, 110 | 0.42 | 123 | 860 | 1.3 |');
    assert.match(met, /^2000 proxies: not measured: no synced within 600000 ms:$/m);
    assert.match(met, /target: a change reaches 1000 proxies in ≤ 1000 ms — met \(640 ms\)/);
    assert.match(controlPlaneTable({ status: 'measured', rows: [row(1000, 4321)], failed: [] }), /NOT met \(4321 ms\)/);
    assert.equal(controlPlaneTable({ status: 'not-run', reason: 'not requested' }), 'control plane: not run (not requested)');
  });

  test('the generated input is one Service per index and a VirtualService whose timeout is the one asked for', () => {
    const docs = parseAllDocuments(`${servicesYaml(3)}---\n${virtualServiceYaml(2)}`).map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec: { http?: { timeout: string }[] } });
    assert.deepEqual(docs.map((d) => `${d.kind}/${d.metadata.name}`), ['Service/svc-0', 'Service/svc-1', 'Service/svc-2', 'VirtualService/svc-0']);
    assert.equal(docs[3].spec.http?.[0].timeout, '2s');
  });

  test("--cpu-prof-dir names where skiffd's profile goes and needs a directory", () => {
    assert.equal(parseOptions(['--suite', 'controlplane', '--cpu-prof-dir', '/tmp/p'])!.cpuProfileDir, '/tmp/p');
    assert.equal(parseOptions(['--suite', 'controlplane'])!.cpuProfileDir, null);
    assert.throws(() => parseOptions(['--cpu-prof-dir']), /--cpu-prof-dir needs a directory/);
  });
});
