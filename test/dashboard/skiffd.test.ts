/**
 * The dashboard as part of skiffd: served on the port asked for (0: any), announced in
 * skiffd.json and found by `skiff dashboard`; a port given and taken stops skiffd from starting,
 * the default one taken only leaves the dashboard out; stopping skiffd stops the dashboard.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, get } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSkiffd } from '../../src/controlplane/skiffd.js';
import { DEFAULT_DASHBOARD_PORT } from '../../src/dashboard/server.js';
import { runSkiff } from '../helpers/cli.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skiff-dashboard-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function fetchText(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Holds `port` on 127.0.0.1; undefined when something else already does (it is taken either way). */
async function hold(port: number): Promise<Server | undefined> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(undefined) : reject(err)));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('skiffd serves the dashboard', () => {
  test('on a free port: announced in skiffd.json, printed by `skiff dashboard`, answering from the observer, gone after stop', async () => {
    const stateDir = join(dir, 'served');
    const skiffd = await startSkiffd({ stateDir, apiPort: 0, pushPort: 0, dashboardPort: 0 });
    let url = '';
    try {
      assert.match(skiffd.dashboardUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
      url = skiffd.dashboardUrl!;
      const info = JSON.parse(readFileSync(join(stateDir, 'skiffd.json'), 'utf8')) as { dashboardUrl?: string };
      assert.equal(info.dashboardUrl, url);
      const cli = await runSkiff(['dashboard', '--state-dir', stateDir]);
      assert.equal(cli.code, 0, cli.stderr);
      assert.equal(cli.stdout, `${url}\n`);
      // --open hands the URL to the desktop's opener; without one it says so and still succeeds.
      const bin = join(dir, 'bin');
      await mkdir(bin, { recursive: true });
      const opened = join(dir, 'opened.txt');
      await writeFile(join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s' "$1" > '${opened}'\n`, { mode: 0o755 });
      const open = await runSkiff(['dashboard', '--open', '--state-dir', stateDir], { env: { PATH: bin } });
      assert.equal(open.code, 0, open.stderr);
      assert.equal(open.stdout, `${url}\n`);
      await waitFor(() => existsSync(opened) && readFileSync(opened, 'utf8') === url, 'the opener to be given the URL');
      const noOpener = await runSkiff(['dashboard', '--open', '--state-dir', stateDir], { env: { PATH: join(dir, 'empty') } });
      assert.equal(noOpener.code, 0, noOpener.stderr);
      assert.match(noOpener.stderr, new RegExp(`could not run xdg-open to open a browser; open ${url} yourself`));
      const page = await fetchText(`${url}/`);
      assert.equal(page.status, 200);
      assert.match(page.body, /Skiff dashboard/);
      const graph = await fetchText(`${url}/api/graph`);
      assert.equal(graph.status, 200);
      assert.deepEqual((JSON.parse(graph.body) as { nodes: unknown[] }).nodes, [], 'no traffic, no nodes');
      const proxies = await fetchText(`${url}/api/proxies`);
      assert.deepEqual(JSON.parse(proxies.body), { proxies: [] });
    } finally {
      await skiffd.stop();
    }
    await assert.rejects(fetchText(`${url}/`), { code: 'ECONNREFUSED' });
  });

  test('a dashboard port given and taken is an error naming it; skiffd does not start', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as { port: number }).port;
    try {
      await assert.rejects(startSkiffd({ stateDir: join(dir, 'taken'), apiPort: 0, pushPort: 0, dashboardPort: port }), {
        message: `the dashboard port 127.0.0.1:${port} is in use; choose another with --dashboard-port`,
      });
      // What started before the failure was undone: the state dir can be used again.
      const again = await startSkiffd({ stateDir: join(dir, 'taken'), apiPort: 0, pushPort: 0, dashboardPort: false });
      assert.equal(again.dashboardUrl, undefined);
      await again.stop();
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });

  test(`the default port (${DEFAULT_DASHBOARD_PORT}) taken: skiffd runs without a dashboard, says so, and \`skiff dashboard\` explains`, async () => {
    const held = await hold(DEFAULT_DASHBOARD_PORT);
    const stateDir = join(dir, 'default-taken');
    const lines: string[] = [];
    try {
      const skiffd = await startSkiffd({ stateDir, apiPort: 0, pushPort: 0, log: (l) => lines.push(l) });
      try {
        assert.equal(skiffd.dashboardUrl, undefined);
        assert.ok(lines.some((l) => l.includes(`dashboard port 127.0.0.1:${DEFAULT_DASHBOARD_PORT} is in use; running without a dashboard`)), lines.join('\n'));
        const cli = await runSkiff(['dashboard', '--state-dir', stateDir]);
        assert.notEqual(cli.code, 0);
        assert.match(cli.stderr, /serves no dashboard.*--dashboard-port/);
      } finally {
        await skiffd.stop();
      }
    } finally {
      if (held !== undefined) await new Promise((r) => held.close(r));
    }
  });

  test('`skiff dashboard` without a running skiffd says how to start one', async () => {
    const stateDir = join(dir, 'none');
    const cli = await runSkiff(['dashboard', '--state-dir', stateDir]);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /skiffd is not running .*skiff up/);
  });
});
