/**
 * The regression corpus of hostile requests to skiffd's API (test/controlplane/api-corpus/*.json):
 * a web page's cross-site posts, a rebound Host, requests without the token or with a body that
 * is not JSON, and inputs built to exhaust the parser (15 MB of "[", deep nesting, a huge
 * document, a deeply nested request envelope). Each is sent as raw bytes to one real skiffd; a
 * case says what it must answer, and after every case skiffd must still answer its status with
 * nothing applied.
 *
 * Adding a case is adding a file:
 *
 *   {
 *     "description": "what the request is and what must happen",
 *     "request": {
 *       "method": "POST", "path": "/api/v1/apply",
 *       "host": "attacker.example:{port}",    (optional; default the API's own 127.0.0.1:{port})
 *       "origin": "http://attacker.example",  (optional)
 *       "token": "valid" | "none" | "wrong",
 *       "contentType": "text/plain",          (optional)
 *       "body": [parts] | "files": [{ "name": "x.yaml", "text": [parts] }]   (files: sent as the CLI's JSON)
 *     },
 *     "expect": { "status": 403, "error": "regex of the answer's error", "finding": "regex of file:line:col message" }
 *   }
 *
 * Parts are strings, `{ "repeat": "[", "times": 15000000 }`, or `{ "indentedLines": "k:", "times": n }`
 * (n lines, each indented one more space than the last).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSkiffd } from '../../src/controlplane/skiffd.js';
import type { Skiffd } from '../../src/controlplane/skiffd.js';
import { apiRequest } from '../../src/cli/skiffd-client.js';
import { repoRoot } from '../helpers/cli.js';

const CORPUS_DIR = join(repoRoot, 'test', 'controlplane', 'api-corpus');

type Part = string | { repeat: string; times: number } | { indentedLines: string; times: number };

interface CorpusCase {
  description: string;
  request: {
    method: string;
    path: string;
    host?: string;
    origin?: string;
    token: 'valid' | 'none' | 'wrong';
    contentType?: string;
    body?: Part[];
    files?: Array<{ name: string; text: Part[] }>;
  };
  expect: { status: number; error?: string; finding?: string };
}

function text(parts: readonly Part[]): string {
  return parts
    .map((p) => {
      if (typeof p === 'string') return p;
      if ('repeat' in p) return p.repeat.repeat(p.times);
      return Array.from({ length: p.times }, (_, i) => `${' '.repeat(i)}${p.indentedLines}\n`).join('');
    })
    .join('');
}

function load(file: string): CorpusCase {
  const c = JSON.parse(readFileSync(join(CORPUS_DIR, file), 'utf8')) as CorpusCase;
  assert.equal(typeof c.description, 'string', `${file}: description`);
  assert.equal(typeof c.request?.path, 'string', `${file}: request.path`);
  assert.equal(typeof c.expect?.status, 'number', `${file}: expect.status`);
  return c;
}

interface Answer {
  status: number;
  body: string;
}

function send(apiUrl: string, token: string, c: CorpusCase): Promise<Answer> {
  const url = new URL(apiUrl);
  const r = c.request;
  const body = r.files !== undefined ? JSON.stringify({ files: r.files.map((f) => ({ name: f.name, text: text(f.text) })) }) : r.body !== undefined ? text(r.body) : undefined;
  const headers: Record<string, string> = { host: (r.host ?? '127.0.0.1:{port}').replace('{port}', url.port) };
  if (r.origin !== undefined) headers.origin = r.origin;
  if (r.token === 'valid') headers.authorization = `Bearer ${token}`;
  if (r.token === 'wrong') headers.authorization = `Bearer ${'w'.repeat(token.length)}`;
  if (r.contentType !== undefined) headers['content-type'] = r.contentType;
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method: r.method, path: r.path, headers, agent: false, setHost: false }, (res) => {
      let answer = '';
      res.setEncoding('utf8').on('data', (d: string) => (answer += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: answer }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const files = readdirSync(CORPUS_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

describe("hostile requests to skiffd's API", () => {
  let dir = '';
  let skiffd: Skiffd;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skiff-api-corpus-'));
    skiffd = await startSkiffd({ stateDir: dir, apiPort: 0, pushPort: 0, dashboardPort: false });
  });
  after(async () => {
    await skiffd.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('the corpus is there', () => assert.ok(files.length >= 10, `${files.length} cases`));

  for (const file of files) {
    const c = load(file);
    test(`${file}: ${c.description}`, async () => {
      const versionBefore = skiffd.config.resourceVersion;
      const answer = await send(skiffd.apiUrl, skiffd.apiToken, c);
      assert.equal(answer.status, c.expect.status, answer.body.slice(0, 500));
      const parsed = JSON.parse(answer.body) as { error?: string; findings?: Array<{ file: string; line?: number; col?: number; message: string }> };
      if (c.expect.error !== undefined) assert.match(parsed.error ?? '', new RegExp(c.expect.error));
      if (c.expect.finding !== undefined) {
        const shown = (parsed.findings ?? []).map((f) => `${f.file}:${f.line ?? ''}:${f.col ?? ''} ${f.message}`);
        assert.ok(shown.some((s) => new RegExp(c.expect.finding!).test(s)), shown.join('\n'));
        assert.ok(!answer.body.includes('call stack'), 'no stack overflow');
      }
      assert.equal(skiffd.config.resourceVersion, versionBefore, 'nothing applied');
      const status = (await apiRequest(skiffd, 'GET', '/api/v1/status')) as { pid: number };
      assert.equal(status.pid, process.pid, 'skiffd still answers');
    });
  }
});
