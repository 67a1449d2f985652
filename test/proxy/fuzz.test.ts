/**
 * Mutation fuzzing of the HTTP/1.1 request path: valid requests are mutated from a fixed seed
 * (byte flips, insertions, deletions, repeated header fields, truncation, Content-Length and
 * Transfer-Encoding mixed, long values) and sent, each on its own connection followed by the
 * client's FIN, to a real `skiff proxy` process's sidecar and gateway listeners in front of a
 * strict recording backend. Asserted: every connection ends (answered and closed, or closed)
 * within a bounded wait; the proxy keeps serving a valid request; what reaches the backend has
 * one framing, one Host and a normalised path; and the proxy's RSS after a GC is back near
 * where it started.
 *
 * The seed is printed; `SKIFF_FUZZ_SEED=<n>` replays a run, `SKIFF_FUZZ_CASES=<n>` sizes it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { skiffBin, stopProcess } from '../helpers/cli.js';
import { eventually, request } from './helpers.js';
import { normalizeRequestPath } from '../../src/proxy/http/path-normalize.js';
import { seeded } from './route/helpers.js';
import { values } from './wire/messages.js';
import { WireClient, startRecordingBackend } from './wire/raw-peers.js';
import type { RecordingBackend } from './wire/raw-peers.js';
import type { ProxySnapshot } from '../../src/snapshot/index.js';
import { Disposer } from '../helpers/disposer.js';

const SEED = Number(process.env.SKIFF_FUZZ_SEED ?? 20261207);
const CASES = Number(process.env.SKIFF_FUZZ_CASES ?? 300);
const AT_ONCE = 16;
/** The proxy's headers timeout here: a head that never completes is answered 408 after it. */
const HEADERS_TIMEOUT_MS = 1000;
/** How long a connection may take to end once the client sent its bytes and FIN: the proxy's timeouts and then some. */
const END_WITHIN_MS = 10_000;
/** How far above its starting RSS the proxy may stay after the run and a GC. */
const RSS_SLACK_BYTES = 32 * 1024 * 1024;


const VALID: readonly string[] = [
  'GET /productpage HTTP/1.1\r\nHost: backend\r\nUser-Agent: fuzz\r\nAccept: */*\r\n\r\n',
  'GET /api/v1/products/1/reviews?user=jason&page=2 HTTP/1.1\r\nHost: backend\r\nX-Request-Id: 1234\r\n\r\n',
  'POST /post HTTP/1.1\r\nHost: backend\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"hello":"x"}',
  'POST /chunked HTTP/1.1\r\nHost: backend\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
  'GET http://backend/absolute?x=1 HTTP/1.1\r\nHost: backend\r\n\r\n',
  'GET /a HTTP/1.1\r\nHost: backend\r\n\r\nGET /b HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n',
  'PUT /raw/../status/418 HTTP/1.1\r\nHost: backend\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc',
  'OPTIONS * HTTP/1.1\r\nHost: backend\r\n\r\n',
];

const INSERTS: readonly string[] = ['\r\n', '\n', ' ', '\t', ':', '\0', '%', '%2e%2e/', '/../', '#', '?', '\\', '\r\n\r\n', 'Host: other\r\n', 'Content-Length: 5\r\n', '\u00ff', 'chunked', '0\r\n\r\n'];

type Mutation = (s: string, rnd: () => number) => string;

const pick = <T>(rnd: () => number, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
const at = (rnd: () => number, s: string): number => Math.floor(rnd() * (s.length + 1));

/** Header lines of the first head, by position in `s`. */
function headerLines(s: string): { start: number; end: number }[] {
  const head = s.indexOf('\r\n\r\n');
  const out: { start: number; end: number }[] = [];
  let pos = s.indexOf('\r\n') + 2;
  while (pos > 1 && pos < head) {
    const end = s.indexOf('\r\n', pos);
    out.push({ start: pos, end: end + 2 });
    pos = end + 2;
  }
  return out;
}

const MUTATIONS: readonly [string, Mutation][] = [
  [
    'flip',
    (s, rnd) => {
      const i = Math.floor(rnd() * s.length);
      return s.slice(0, i) + String.fromCharCode(Math.floor(rnd() * 256)) + s.slice(i + 1);
    },
  ],
  [
    'insert',
    (s, rnd) => {
      const i = at(rnd, s);
      return s.slice(0, i) + pick(rnd, INSERTS) + s.slice(i);
    },
  ],
  [
    'delete',
    (s, rnd) => {
      const i = Math.floor(rnd() * s.length);
      return s.slice(0, i) + s.slice(i + 1 + Math.floor(rnd() * 8));
    },
  ],
  [
    'duplicate-header',
    (s, rnd) => {
      const lines = headerLines(s);
      if (lines.length === 0) return s;
      const l = pick(rnd, lines);
      const line = s.slice(l.start, l.end);
      return s.slice(0, l.end) + line + s.slice(l.end);
    },
  ],
  ['truncate', (s, rnd) => s.slice(0, Math.floor(rnd() * s.length))],
  [
    'cl-te',
    (s, rnd) => {
      const end = s.indexOf('\r\n') + 2;
      const field = pick(rnd, ['Transfer-Encoding: chunked\r\n', 'Content-Length: 4\r\n', 'Transfer-Encoding: xchunked\r\n', 'Transfer-Encoding:  chunked\r\n', 'Transfer-Encoding: chunked, identity\r\n', 'Content-Length: 4, 4\r\n', 'Content-Length: +4\r\n', 'Transfer-Encoding\t: chunked\r\n']);
      return end < 2 ? s : s.slice(0, end) + field + s.slice(end);
    },
  ],
  [
    'long-value',
    (s, rnd) => {
      const end = s.indexOf('\r\n') + 2;
      const kind = Math.floor(rnd() * 3);
      if (kind === 0) return end < 2 ? s : `${s.slice(0, end)}X-Long: ${'a'.repeat(1000 + Math.floor(rnd() * 70_000))}\r\n${s.slice(end)}`;
      if (kind === 1) return end < 2 ? s : s.slice(0, end) + 'X-Many: 1\r\n'.repeat(90 + Math.floor(rnd() * 20)) + s.slice(end);
      const sp = s.indexOf(' ');
      return sp < 0 ? s : `${s.slice(0, sp + 1)}/${'p/'.repeat(500 + Math.floor(rnd() * 4000))}${s.slice(sp + 1)}`;
    },
  ],
];

interface FuzzCase {
  index: number;
  listener: 'sidecar' | 'gateway';
  mutations: string[];
  bytes: Buffer;
}

function makeCases(seed: number, count: number): FuzzCase[] {
  const rnd = seeded(seed);
  const out: FuzzCase[] = [];
  for (let index = 0; index < count; index++) {
    let s = pick(rnd, VALID);
    const names: string[] = [];
    const n = 1 + Math.floor(rnd() * 3);
    for (let k = 0; k < n; k++) {
      const [name, mutate] = pick(rnd, MUTATIONS);
      names.push(name);
      s = mutate(s, rnd);
    }
    out.push({ index, listener: index % 2 === 0 ? 'sidecar' : 'gateway', mutations: names, bytes: Buffer.from(s, 'latin1') });
  }
  return out;
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? 0 : Number(m[1]) * 1024;
}

describe('fuzzing the request path with mutated requests', () => {
  let dir: string;
  let backend: RecordingBackend;
  let child: ChildProcess;
  let stderr = '';
  const ports = new Map<string, number>();

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    dir = disposer.tempDir('skiff-fuzz-');
    backend = disposer.add(await startRecordingBackend(() => 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'), (r) => r.close());
    const http = { routeConfig: 'r', requestHeadersTimeoutMs: HEADERS_TIMEOUT_MS };
    const snap: ProxySnapshot = {
      version: '1',
      node: { id: 'sidecar~127.0.0.1~fuzz.default~default.svc.cluster.local', kind: 'sidecar' },
      listeners: [
        { name: 'sidecar', address: '127.0.0.1', port: 0, direction: 'outbound', protocol: 'http', http },
        { name: 'gateway', address: '127.0.0.1', port: 0, direction: 'gateway', protocol: 'http', http },
      ],
      routes: [{ name: 'r', virtualHosts: [{ name: 'all', domains: ['*'], routes: [{ name: 'all', match: [], action: { type: 'route', destinations: [{ cluster: 'backend', weight: 100 }] } }] }] }],
      clusters: [{ name: 'backend', protocol: 'http1', endpoints: [{ address: '127.0.0.1', port: backend.port }] }],
    };
    const file = join(dir, 'snapshot.json');
    writeFileSync(file, JSON.stringify(snap));
    // SIGUSR2 runs a full GC in the proxy, so its RSS can be read after one.
    const gcHook = join(dir, 'gc-on-signal.cjs');
    writeFileSync(gcHook, "process.on('SIGUSR2', () => { globalThis.gc(); process.stderr.write('gc done\\n'); });\n");
    child = spawn(
      process.execPath,
      ['--expose-gc', '--require', gcHook, skiffBin, 'proxy', '--snapshot', file, '--concurrency', '1', '--admin-port', '0', '--health-port', '0', '--health-address', '127.0.0.1'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    disposer.add(child, (c) => stopProcess(c, { signal: 'SIGKILL' }));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    await eventually(() => /listeners: .*gateway=127\.0\.0\.1:\d+/.test(stderr), 15_000, 'the proxy to start');
    for (const name of ['sidecar', 'gateway']) ports.set(name, Number(new RegExp(`${name}=127\\.0\\.0\\.1:(\\d+)`).exec(stderr)![1]));
  }));

  after(() => disposer.drain());

  /** A full GC in the proxy, then its RSS. */
  async function rssAfterGc(): Promise<number> {
    const before = (stderr.match(/gc done/g) ?? []).length;
    child.kill('SIGUSR2');
    await eventually(() => (stderr.match(/gc done/g) ?? []).length > before, 10_000, 'the proxy to run a GC');
    await sleep(200);
    return rssBytes(child.pid!);
  }

  async function validRequests(n: number): Promise<void> {
    for (const name of ['sidecar', 'gateway']) {
      for (let i = 0; i < n; i++) assert.equal((await request(ports.get(name)!, '/valid', { headers: { host: 'backend' } })).status, 200, `a valid request on ${name}`);
    }
  }

  test(`${CASES} mutated requests (seed ${SEED}): every connection ends, the proxy serves on, RSS comes back`, { timeout: 300_000 }, async () => {
    process.stdout.write(`fuzz seed ${SEED} (SKIFF_FUZZ_SEED=${SEED} replays it), ${CASES} cases\n`);
    await validRequests(50);
    const rssStart = await rssAfterGc();
    const forwardedBefore = backend.requests.length;

    const cases = makeCases(SEED, CASES);
    const hanging: string[] = [];
    const describeCase = (c: FuzzCase): string => `case ${c.index} (${c.listener}; ${c.mutations.join(', ')}): ${JSON.stringify(c.bytes.toString('latin1').slice(0, 300))}`;
    for (let from = 0; from < cases.length; from += AT_ONCE) {
      await Promise.all(
        cases.slice(from, from + AT_ONCE).map(async (c) => {
          const client = await WireClient.connect(ports.get(c.listener)!);
          try {
            client.send(c.bytes);
            client.end();
            await client.readUntilClose(END_WITHIN_MS);
          } catch (err) {
            hanging.push(`${describeCase(c)}: ${(err as Error).message.slice(0, 200)}`);
          } finally {
            client.close();
          }
        }),
      );
      assert.equal(child.exitCode, null, `the proxy exited during the run (seed ${SEED}); its output:\n${stderr.slice(-2000)}`);
    }
    assert.deepEqual(hanging, [], `connections that did not end within ${END_WITHIN_MS} ms (seed ${SEED})`);

    // The proxy serves on, on both listeners.
    await validRequests(5);

    // What reached the backend was framed once, named one host, and carried a normalised path.
    assert.deepEqual(backend.refused, [], `requests the strict backend could not frame (seed ${SEED})`);
    for (const m of backend.requests.slice(forwardedBefore)) {
      const what = `${JSON.stringify(m.bytes.toString('latin1').slice(0, 300))} (seed ${SEED})`;
      assert.equal(values(m.fields, 'host').length, 1, `one Host: ${what}`);
      assert.ok(values(m.fields, 'content-length').length <= 1, `at most one Content-Length: ${what}`);
      assert.ok(values(m.fields, 'content-length').length === 0 || values(m.fields, 'transfer-encoding').length === 0, `not both Content-Length and Transfer-Encoding: ${what}`);
      const [method, target] = m.startLine.split(' ');
      assert.equal(normalizeRequestPath(method, target, 'BASE'), target, `a normalised target: ${what}`);
    }

    const rssEnd = await rssAfterGc();
    process.stdout.write(`fuzz: ${backend.requests.length - forwardedBefore} requests forwarded; proxy RSS after GC ${(rssStart / 2 ** 20).toFixed(1)} MB before, ${(rssEnd / 2 ** 20).toFixed(1)} MB after\n`);
    assert.ok(rssEnd <= rssStart + RSS_SLACK_BYTES, `RSS after GC ${rssEnd} bytes, from ${rssStart} at the start (seed ${SEED})`);
  });
});
