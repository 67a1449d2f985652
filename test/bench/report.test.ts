/**
 * `latest.json` keeps the figures of the suite a run did not run: a control-plane-only run leaves
 * the proxy rows of the previous run in place, and the other way round; the dated copy is the run alone.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Row } from '../../bench/aggregate.js';
import { writeReport } from '../../bench/report.js';
import type { BenchReport } from '../../bench/report.js';

const dir = mkdtempSync(join(tmpdir(), 'skiff-report-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function report(date: string, parts: { proxy?: boolean; controlPlane?: boolean }): BenchReport {
  return {
    date,
    machine: { cpus: 2, cpuModel: 'test', memoryMb: 1, kernel: 'k', node: 'v20', loadAverageAtStart: [0, 0, 0], pinned: false, versions: {} },
    method: { rounds: 1, durationS: 1, warmupS: 1, connections: 1, fixedRate: 1, fixedConnections: 1, backend: 'node', bodyBytes: 1, endpointsPerCluster: 2, quick: true, nice: 0 },
    rows: parts.proxy === true ? [{ scenario: `skiff-outbound@${date}` } as Row] : [],
    skipped: [],
    targets: parts.proxy === true ? [{ target: 't', measured: date, met: true }] : [],
    controlPlane:
      parts.controlPlane === true
        ? { status: 'measured', rows: [{ proxies: 1000, services: 1000, workloads: 1000, initial_sync_ms: 1, change_to_last_ack_ms: 2, change_samples_ms: [2], skiffd_cpu_s: 0.1, skiffd_rss_mb: 1, snapshot_kb: 1 }], failed: [] }
        : { status: 'not-run', reason: 'not requested' },
    notes: parts.proxy === true ? [`tracing note of ${date}`] : [],
  };
}

const latest = (): BenchReport => JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')) as BenchReport;

describe('bench report', () => {
  test("a run of one suite keeps the other suite's figures in latest.json", () => {
    writeReport(dir, report('2026-01-01T00:00:00.000Z', { proxy: true }));
    const files = writeReport(dir, report('2026-01-02T00:00:00.000Z', { controlPlane: true }));
    let l = latest();
    assert.equal(l.date, '2026-01-02T00:00:00.000Z');
    assert.deepEqual(l.rows.map((r) => r.scenario), ['skiff-outbound@2026-01-01T00:00:00.000Z']);
    assert.equal(l.targets[0].measured, '2026-01-01T00:00:00.000Z');
    assert.equal(l.controlPlane.status, 'measured');
    assert.ok(l.notes.includes('tracing note of 2026-01-01T00:00:00.000Z'));
    assert.ok(l.notes.some((n) => n.startsWith('proxy rows, targets and method from the run of 2026-01-01')));
    // The dated copy is the run as it was.
    const dated = JSON.parse(readFileSync(files[1], 'utf8')) as BenchReport;
    assert.deepEqual(dated.rows, []);

    writeReport(dir, report('2026-01-03T00:00:00.000Z', { proxy: true }));
    l = latest();
    assert.deepEqual(l.rows.map((r) => r.scenario), ['skiff-outbound@2026-01-03T00:00:00.000Z']);
    assert.equal(l.controlPlane.status, 'measured', 'the control-plane rows stay');
    assert.deepEqual(l.notes, ['tracing note of 2026-01-03T00:00:00.000Z', 'control plane rows from the run of 2026-01-02T00:00:00.000Z']);

    // Kept twice, still dated by the run that measured it.
    writeReport(dir, report('2026-01-04T00:00:00.000Z', { proxy: true }));
    assert.ok(latest().notes.includes('control plane rows from the run of 2026-01-02T00:00:00.000Z'));
  });
});
