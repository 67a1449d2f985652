/**
 * Profile summaries: shares of busy time by function and file, from a hand-made profile and from
 * a real `node --cpu-prof` run whose hot function is known.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { shortUrl, summarizeProfile } from '../../bench/cpuprofile.js';
import type { CpuProfile } from '../../bench/cpuprofile.js';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });

describe('cpu profile summary', () => {
  test('self, inclusive and per-file shares exclude idle time', () => {
    const p: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(root)'), children: [2, 5, 6] },
        { id: 2, callFrame: frame('handle', 'file:///r/dist/src/proxy/a.js', 9), children: [3, 4] },
        { id: 3, callFrame: frame('parse', 'file:///r/dist/src/proxy/a.js', 19) },
        { id: 4, callFrame: frame('writev', 'node:net', 4) },
        { id: 5, callFrame: frame('(idle)') },
        { id: 6, callFrame: frame('(garbage collector)') },
      ],
      startTime: 0,
      endTime: 200,
      // µs: handle 10, parse 30, writev 40, idle 100, gc 20
      samples: [2, 3, 4, 5, 6],
      timeDeltas: [10, 30, 40, 100, 20],
    };
    const s = summarizeProfile(p);
    assert.equal(s.busyMs, 0); // 100 µs rounds to 0 ms; shares still exact
    const self = new Map(s.selfByFunction.map((h) => [h.name, h.percent]));
    assert.equal(self.get('writev node:net:5'), 40);
    assert.equal(self.get('parse src/proxy/a.js:20'), 30);
    assert.equal(s.gcPercent, 20);
    assert.equal(s.selfByFunction[0].name, 'writev node:net:5');
    const incl = new Map(s.inclusiveByFunction.map((h) => [h.name, h.percent]));
    assert.equal(incl.get('handle src/proxy/a.js:10'), 80);
    const files = new Map(s.selfByFile.map((h) => [h.name, h.percent]));
    assert.equal(files.get('src/proxy/a.js'), 40);
    assert.equal(files.get('node:net'), 40);
  });

  test('urls are shown relative to the package or to dist/', () => {
    assert.equal(shortUrl('file:///work/main/dist/src/proxy/proxy.js'), 'src/proxy/proxy.js');
    assert.equal(shortUrl('file:///x/node_modules/yaml/dist/index.js'), 'node_modules/yaml/dist/index.js');
    assert.equal(shortUrl('node:internal/net'), 'node:internal/net');
  });

  test('a real profile names the function that burned the CPU', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-prof-test-'));
    try {
      // A fixed amount of work, several times Node's start-up, rather than a wall-clock span a loaded machine stretches.
      const script = 'function burnTheCpu(){let x=0;for(let i=0;i<3e8;i++)x+=Math.sqrt(i);return x}process.exitCode=burnTheCpu()>0?0:1;';
      await promisify(execFile)(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, '-e', script]);
      const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))!;
      const s = summarizeProfile(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile);
      const hot = s.inclusiveByFunction.find((h) => h.name.startsWith('burnTheCpu'));
      assert.ok(hot !== undefined && hot.percent > 50, JSON.stringify(s.inclusiveByFunction.slice(0, 5)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
