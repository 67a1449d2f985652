/**
 * From round samples to the published rows: medians, the in-round ratio to nginx and the latency
 * added over direct, the Markdown table, and the target checks.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildRows, checkTargets, median } from '../../bench/aggregate.js';
import type { ScenarioSamples } from '../../bench/aggregate.js';
import type { RoundSample } from '../../bench/measure.js';
import { markdownTable } from '../../bench/report.js';

function sample(round: number, rps: number, p99Ms: number, extra: Partial<RoundSample> = {}): RoundSample {
  return { round, rps, cpuUsPerReq: 20, rssLoadMb: 50, p50Ms: p99Ms / 4, p90Ms: p99Ms / 2, p99Ms, fixedRps: 990, vcpuPer1kRps: 0.1, errors: 0, otherBusyOnProxyCore: 0.05, ...extra };
}

/** Direct has no proxy process to measure. */
const NO_PROXY: Partial<RoundSample> = { cpuUsPerReq: null, rssLoadMb: null, vcpuPer1kRps: null };

function scenario(name: string, samples: RoundSample[], proxies = 1, rssIdleMb: number | null = 40): ScenarioSamples {
  return { scenario: name, description: name, proxies, rssIdleMb, samples };
}

describe('median', () => {
  test('odd, even, nulls left out, empty', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([null, 5, null]), 5);
    assert.equal(median([]), null);
    assert.equal(median([null]), null);
  });
});

describe('rows', () => {
  // The machine slows down in round 2: every scenario is slower there, so per-round ratios stay put.
  const all = [
    scenario('direct', [sample(1, 60_000, 0.5, NO_PROXY), sample(2, 30_000, 1.5, NO_PROXY), sample(3, 62_000, 0.6, NO_PROXY)], 0, null),
    scenario('skiff-outbound', [sample(1, 20_000, 1.0), sample(2, 10_000, 2.5), sample(3, 21_000, 1.0, { errors: 2 })]),
    scenario('nginx', [sample(1, 40_000, 0.7), sample(2, 20_000, 1.7), sample(3, 42_000, 0.8)]),
  ];
  const rows = buildRows(all);
  const row = (n: string) => rows.find((r) => r.scenario === n)!;

  test('throughput and latency are medians over rounds', () => {
    assert.equal(row('skiff-outbound').rps, 20_000);
    assert.equal(row('skiff-outbound').p99_ms, 1.0);
    assert.equal(row('nginx').rps, 40_000);
    assert.equal(row('skiff-outbound').rounds, 3);
  });

  test('the ratio to nginx is taken within each round, then the median', () => {
    assert.equal(row('skiff-outbound').rps_vs_nginx, 0.5);
    assert.equal(row('nginx').rps_vs_nginx, 1);
    assert.equal(row('direct').rps_vs_nginx, 1.5);
  });

  test('added p99 is over direct in the same round; direct itself adds 0', () => {
    // Per round: 0.5, 1.0, 0.4 → median 0.5.
    assert.equal(row('skiff-outbound').added_p99_ms, 0.5);
    assert.equal(row('nginx').added_p99_ms, 0.2);
    assert.equal(row('direct').added_p99_ms, 0);
  });

  test('errors are summed, idle RSS carried, direct has no proxy figures', () => {
    assert.equal(row('skiff-outbound').errors, 2);
    assert.equal(row('skiff-outbound').rss_idle_mb, 40);
    assert.equal(row('direct').rss_idle_mb, null);
  });

  test('without nginx or direct in the run the comparisons are null, not invented', () => {
    const alone = buildRows([scenario('skiff-outbound', [sample(1, 20_000, 1.0)])]);
    assert.equal(alone[0].rps_vs_nginx, null);
    assert.equal(alone[0].added_p99_ms, null);
  });

  test('the Markdown table has a header, a separator and one line per row', () => {
    const lines = markdownTable(rows).split('\n');
    assert.equal(lines.length, 2 + rows.length);
    assert.match(lines[0], /^\| scenario \| max req\/s \| ×nginx \|/);
    assert.match(lines[3], /^\| skiff-outbound \| 20000 \| 0\.50× \| .* \| \+0\.50 \|/);
    assert.match(lines[2], /^\| direct \| 60000 \| 1\.50× \|.*\| — \| — \| — \| 0 \| 5% \|$/);
  });
});

describe('targets', () => {
  test('each target is met, not met, or not measured', () => {
    const rows = buildRows([
      scenario('direct', [sample(1, 60_000, 0.5, NO_PROXY)], 0, null),
      scenario('skiff-outbound', [sample(1, 24_000, 1.0, { vcpuPer1kRps: 0.12 })], 1, 45),
      scenario('skiff-inbound', [sample(1, 18_000, 1.0, { vcpuPer1kRps: 0.16 })]),
      scenario('nginx', [sample(1, 40_000, 0.7)]),
    ]);
    const checks = checkTargets(rows);
    const find = (re: RegExp) => checks.find((c) => re.test(c.target))!;
    // Outbound reaches 0.6×, inbound 0.45×: the worse of the two one-hop rows decides.
    assert.equal(find(/0\.5× nginx/).met, false);
    assert.match(find(/0\.5× nginx/).measured, /outbound 0\.6×, inbound 0\.45×/);
    assert.equal(find(/two hops/).met, null);
    assert.equal(find(/vCPU/).met, false);
    assert.equal(find(/RSS idle/).met, false);
  });

  test('the mutual-TLS pair is checked against the nginx pair per round, and so is the TLS work alone', () => {
    // Round 2 runs on a busier machine: every row costs more there, per-round ratios stay put.
    const cpu = (round: number, full: number, fixed: number) => sample(round, 10_000, 1, { cpuUsPerReq: round === 2 ? full * 1.5 : full, vcpuPer1kRps: round === 2 ? fixed * 1.5 : fixed });
    const rounds = (full: number, fixed: number) => [cpu(1, full, fixed), cpu(2, full, fixed), cpu(3, full, fixed)];
    const rows = buildRows([
      scenario('skiff-2hop', rounds(90, 0.2), 2),
      scenario('skiff-2hop-mtls', rounds(126, 0.26), 2),
      scenario('nginx-2hop', rounds(40, 0.1), 2),
      scenario('nginx-2hop-mtls', rounds(60, 0.12), 2),
    ]);
    const mtls = checkTargets(rows).find((c) => /mutual TLS pair/.test(c.target))!;
    // 126/60 = 2.1× at full load: not met, though 0.26/0.12 = 2.17× and the TLS work alone is (126-90)/(60-40) = 1.8× and 0.06/0.02 = 3×.
    assert.equal(mtls.met, false);
    assert.match(mtls.measured, /full load 2\.1×, at the fixed rate 2\.17×; the TLS work alone .*: full load 1\.8×, at the fixed rate 3×/);

    const cheaper = buildRows([scenario('skiff-2hop-mtls', rounds(110, 0.2), 2), scenario('nginx-2hop-mtls', rounds(60, 0.12), 2)]);
    const met = checkTargets(cheaper).find((c) => /mutual TLS pair/.test(c.target))!;
    assert.equal(met.met, true);
    // Without the plaintext rows the TLS work alone is not measured.
    assert.match(met.measured, /full load 1\.83×, at the fixed rate 1\.67×; the TLS work alone .*: full load n\/a, at the fixed rate n\/a/);

    assert.equal(checkTargets(buildRows([scenario('skiff-2hop-mtls', rounds(110, 0.2), 2)])).find((c) => /mutual TLS pair/.test(c.target))!.met, null);
  });
});
