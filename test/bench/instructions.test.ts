/**
 * The benchmark's instruction counts: callgrind's output read per thread, per-request figures and
 * the report, the options that ask for them, and the suite run for real on Skiff's two mutual-TLS
 * sidecars under valgrind.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { findCallgrind, parseCallgrindTotals, underCallgrind } from '../../bench/callgrind.js';
import { instructionTable, runInstructionSuite, sample } from '../../bench/instructions.js';
import type { InstructionReport } from '../../bench/instructions.js';
import { parseOptions } from '../../bench/options.js';
import { stopAll } from '../../bench/processes.js';
import { findTools } from '../../bench/tools.js';
import { tool } from '../helpers/tools.js';

const valgrind = tool('valgrind');

describe('callgrind output', () => {
  test('a per-thread dump gives its thread and its total; a file without totals gives null', () => {
    const dump = ['# callgrind format', 'version: 1', 'creator: callgrind-3.19.0', 'pid: 7265', 'cmd:  /usr/bin/node skiff.js', 'part: 1', 'thread: 3', '', 'events: Ir', 'summary: 0', '', 'fn=(1) main', '5 120', '', 'totals: 717485301', ''].join('\n');
    assert.deepEqual(parseCallgrindTotals(dump), { thread: 3, instructions: 717485301 });
    // Without --separate-threads there is no thread line: the one file is the whole process.
    assert.deepEqual(parseCallgrindTotals('events: Ir\nsummary: 42\n'), { thread: 1, instructions: 42 });
    assert.equal(parseCallgrindTotals('events: Ir\nfn=(1) main\n'), null);
  });

  test('the wrapped command counts nothing at start, one file per thread, and checks rewritten code', () => {
    const cmd = underCallgrind({ valgrind: '/usr/bin/valgrind', control: '/usr/bin/callgrind_control' }, '/tmp/x', '/usr/bin/node', ['skiff.js', 'proxy']);
    assert.equal(cmd.command, '/usr/bin/valgrind');
    assert.deepEqual(cmd.args.slice(-3), ['/usr/bin/node', 'skiff.js', 'proxy']);
    for (const flag of ['--tool=callgrind', '--instr-atstart=no', '--separate-threads=yes', '--smc-check=all-non-file', '--callgrind-out-file=/tmp/x/callgrind.out']) assert.ok(cmd.args.includes(flag), flag);
    assert.equal(findCallgrind('/nonexistent'), null);
  });
});

describe('instruction report', () => {
  test('per request: every thread, and the main thread (the first) on its own', () => {
    const s = sample('skiff-2hop-mtls', 'client', 1000, [
      { thread: 1, instructions: 150_000_000 },
      { thread: 2, instructions: 20_000_000 },
      { thread: 3, instructions: 10_000_000 },
    ]);
    assert.deepEqual(s, { row: 'skiff-2hop-mtls', side: 'client', requests: 1000, perRequest: 180_000, mainPerRequest: 150_000, threads: 3 });
    assert.throws(() => sample('nginx-2hop-mtls', 'server', 1000, []), /nginx-2hop-mtls server: nothing counted/);
  });

  test('the table gives each proxy, each pair, and Skiff against nginx only when both pairs were counted', () => {
    const report: InstructionReport = {
      date: '2026-12-08T00:00:00.000Z',
      warmup: 40000,
      requests: 5000,
      samples: [
        sample('skiff-2hop-mtls', 'client', 10, [{ thread: 1, instructions: 1_500_000 }, { thread: 2, instructions: 100_000 }]),
        sample('skiff-2hop-mtls', 'server', 10, [{ thread: 1, instructions: 1_600_000 }]),
        sample('nginx-2hop-mtls', 'client', 10, [{ thread: 1, instructions: 400_000 }]),
        sample('nginx-2hop-mtls', 'server', 10, [{ thread: 1, instructions: 400_000 }]),
      ],
      skipped: [],
    };
    const table = instructionTable(report);
    assert.match(table, /\| skiff-2hop-mtls \| client \| 160,000 \| 150,000 \| 2 \|/);
    assert.match(table, /skiff-2hop-mtls, both sidecars: 320,000 per request \(main threads 310,000\)/);
    assert.match(table, /nginx-2hop-mtls, both nginx: 80,000 per request/);
    assert.match(table, /Skiff's pair ÷ nginx's pair: 4\.00× \(main threads 3\.88×\)/);
    const skiffOnly = instructionTable({ ...report, samples: report.samples.slice(0, 2), skipped: [{ row: 'nginx-2hop-mtls', reason: 'nginx is not installed' }] });
    assert.doesNotMatch(skiffOnly, /÷/);
    assert.match(skiffOnly, /skipped nginx-2hop-mtls: nginx is not installed/);
  });

  test('options: the suite, its two counts, and shorter counts in a quick run', () => {
    const d = parseOptions(['--suite', 'instructions'])!;
    assert.deepEqual(d.suites, ['instructions']);
    assert.equal(d.instrWarmup, 40000);
    assert.equal(d.instrRequests, 5000);
    const q = parseOptions(['--suite=instructions', '--quick'])!;
    assert.ok(q.instrWarmup < d.instrWarmup && q.instrRequests < d.instrRequests);
    const e = parseOptions(['--suite', 'instructions', '--instr-warmup', '100', '--instr-requests=50', '--only', 'skiff-2hop-mtls'])!;
    assert.equal(e.instrWarmup, 100);
    assert.equal(e.instrRequests, 50);
    assert.deepEqual(e.only, ['skiff-2hop-mtls']);
    assert.throws(() => parseOptions(['--instr-requests', '0']), /--instr-requests needs a number >= 1, got "0"/);
  });
});

describe('instruction counts of the two mutual-TLS sidecars, under valgrind', { skip: valgrind.skip }, () => {
  const workDir = mkdtempSync(join(tmpdir(), 'skiff-instr-test-'));
  after(async () => {
    await stopAll();
    rmSync(workDir, { recursive: true, force: true });
  });

  test('each sidecar is counted over the counted requests only, every thread in its own file', async () => {
    valgrind.require();
    const tools = findTools();
    const run = (requests: number): Promise<InstructionReport> => {
      const dir = join(workDir, String(requests));
      mkdirSync(dir);
      return runInstructionSuite(tools, { warmup: 300, requests, only: ['skiff-2hop-mtls'] }, dir, () => {});
    };
    const few = await run(100);
    assert.deepEqual(few.skipped, []);
    assert.deepEqual(few.samples.map((s) => s.side), ['client', 'server']);
    for (const s of few.samples) {
      // A sidecar relaying an HTTP request over mutual TLS runs tens of thousands of instructions
      // at least; a count of the whole process life (start-up, warm-up) would be far above this.
      assert.ok(s.mainPerRequest > 20_000 && s.mainPerRequest < 5_000_000, `${s.side}: ${s.mainPerRequest} per request`);
      assert.ok(s.perRequest >= s.mainPerRequest && s.threads > 1, `${s.side}: ${s.threads} threads`);
      const files = readdirSync(join(workDir, '100', 'callgrind', `skiff-2hop-mtls-${s.side}`)).filter((f) => f.startsWith('callgrind.out.1-'));
      assert.equal(files.length, s.threads);
    }
    // Three times the requests, about three times the count: what is counted is the requests.
    const more = await run(300);
    for (const [i, s] of more.samples.entries()) {
      const ratio = s.mainPerRequest / few.samples[i].mainPerRequest;
      assert.ok(ratio > 0.6 && ratio < 1.6, `${s.side}: ${Math.round(s.mainPerRequest)} against ${Math.round(few.samples[i].mainPerRequest)} per request`);
    }
  });
});
