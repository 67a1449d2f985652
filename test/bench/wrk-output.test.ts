/**
 * The benchmark's reading of wrk: its text summary, the machine line of our Lua hook, and — when
 * wrk is installed — both Lua scripts run for real against a local server.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { writeScripts } from '../../bench/measure.js';
import { tool } from '../helpers/tools.js';
import { errorCount, pacedScript, parseWrkOutput, toMs } from '../../bench/wrk-output.js';

const TEXT = `Running 1s test @ http://127.0.0.1:18123/
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   762.99us    1.17ms  10.97ms   88.18%
    Req/Sec    10.58k     4.88k   18.60k    54.55%
  Latency Distribution
     50%  215.00us
     75%  774.00us
     90%    2.20ms
     99%    5.71ms
  11564 requests in 1.10s, 2.47MB read
  Non-2xx or 3xx responses: 7
  Socket errors: connect 1, read 2, write 3, timeout 4
Requests/sec:  10514.16
Transfer/sec:      2.25MB
`;

describe('wrk output', () => {
  test('the text summary gives rate, percentiles in ms and every error kind', () => {
    const r = parseWrkOutput(TEXT);
    assert.equal(r.requests, 11564);
    assert.equal(r.durationS, 1.1);
    assert.equal(r.rps, 10514.16);
    assert.equal(r.p50Ms, 0.215);
    assert.equal(r.p90Ms, 2.2);
    assert.equal(r.p99Ms, 5.71);
    assert.equal(r.maxMs, 10.97);
    assert.deepEqual(r.errors, { connect: 1, read: 2, write: 3, timeout: 4, status: 7 });
    assert.equal(errorCount(r.errors), 17);
  });

  test('without --latency the percentiles are null, not zero', () => {
    const r = parseWrkOutput(TEXT.replace(/ {2}Latency Distribution\n( +\d+% +\S+\n)+/, ''));
    assert.equal(r.p99Ms, null);
    assert.equal(r.requests, 11564);
    assert.deepEqual(r.errors.status, 7);
  });

  test('the machine line of the Lua hook wins over the text and is in microseconds', () => {
    const line = 'SKIFF_BENCH {"requests":5000,"duration_us":2000000,"connect":0,"read":0,"write":0,"status":3,"timeout":0,"p50_us":120.0,"p90_us":250.5,"p99_us":1500.0,"max_us":9000.0}';
    const r = parseWrkOutput(`${TEXT}${line}\n`);
    assert.equal(r.requests, 5000);
    assert.equal(r.rps, 2500);
    assert.equal(r.p50Ms, 0.12);
    assert.equal(r.p90Ms, 0.2505);
    assert.equal(r.p99Ms, 1.5);
    assert.equal(r.errors.status, 3);
  });

  test('output without a summary is an error that shows it', () => {
    assert.throws(() => parseWrkOutput('unable to connect to 127.0.0.1:1 Connection refused'), /no "N requests in T" line[\s\S]*Connection refused/);
  });

  test('time units', () => {
    assert.equal(toMs(500, 'us'), 0.5);
    assert.equal(toMs(2, 's'), 2000);
    assert.equal(toMs(1, 'm'), 60_000);
    assert.throws(() => toMs(1, 'd'), /unknown wrk time unit/);
  });

  test('the paced script spaces requests 1/rate apart (and per connection without ffi)', () => {
    assert.match(pacedScript(1000, 16), /local interval = 1\.000000\n/);
    assert.match(pacedScript(1000, 16), /local mean = 16\.000/);
    assert.match(pacedScript(2000, 10), /local interval = 0\.500000\n/);
  });
});

const wrk = tool('wrk');

describe('wrk with the benchmark scripts', { skip: wrk.skip }, () => {
  test('both scripts run and report the requests the server saw', async () => {
    const wrkBin = wrk.require();
    let served = 0;
    const server = http.createServer((req, res) => {
      served++;
      res.writeHead(req.url === '/fail' ? 503 : 200, { 'content-type': 'text/plain' });
      res.end('x'.repeat(1024));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const dir = mkdtempSync(join(tmpdir(), 'bench-wrk-test-'));
    try {
      const scripts = writeScripts(dir, 200, 4);
      const run = async (script: string, path: string): Promise<ReturnType<typeof parseWrkOutput>> => {
        const { stdout } = await promisify(execFile)(wrkBin, ['-t1', '-c4', '-d1s', '--latency', '-s', script, `http://127.0.0.1:${port}${path}`]);
        return parseWrkOutput(stdout);
      };
      const max = await run(scripts.max, '/');
      assert.ok(max.requests > 0);
      assert.ok(max.p99Ms !== null && max.p99Ms > 0 && max.p50Ms !== null && max.p50Ms <= max.p99Ms);
      assert.equal(max.errors.status, 0);
      const before = served;
      const paced = await run(scripts.paced, '/fail');
      // Paced at 200 req/s for a second: at most about 200 requests (fewer on a busy machine, so
      // only the ceiling is the pacing's; the unpaced run on an idle machine makes thousands).
      assert.ok(paced.requests >= 20 && paced.requests < 300, `paced ${paced.requests}, max ${max.requests}`);
      assert.equal(paced.errors.status, paced.requests);
      assert.ok(served - before >= paced.requests);
    } finally {
      server.closeAllConnections();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
