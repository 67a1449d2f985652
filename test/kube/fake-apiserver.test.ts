/**
 * The fake API server against the API server's rules that Skiff's client and kubectl depend on:
 * one cluster-wide resourceVersion, watches that replay from a version, 410 after compaction
 * (never for the version the latest list handed out), bookmarks, watch timeouts, selectors,
 * paging, discovery, 409 on a stale update, TokenReview, and the faults tests inject.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateCrds } from '../../src/api/index.js';
import { Disposer } from '../helpers/disposer.js';
import { call, WatchStream } from './api-client.js';
import { FakeApiServer } from './fake-apiserver/server.js';

const cm = (name: string, labels: Record<string, string> = {}, data: Record<string, string> = {}): object => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', labels }, data });

describe('fake API server', () => {
  let api: FakeApiServer;
  let base: string;
  const disposer = new Disposer();
  before(disposer.setup(async () => {
    api = disposer.add(new FakeApiServer({ crds: generateCrds(), bookmarkIntervalMs: 50, historyLimit: 50 }), (a) => a.stop());
    base = await api.start();
  }));
  after(() => disposer.drain());

  it('serves discovery for core, apps, admissionregistration, apiextensions and the Istio groups of the CRDs it holds', async () => {
    const core = await call(base, 'GET', '/api');
    assert.deepEqual(core.body.versions, ['v1']);
    const groups = ((await call(base, 'GET', '/apis')).body.groups as Array<{ name: string }>).map((g) => g.name);
    for (const g of ['apps', 'admissionregistration.k8s.io', 'apiextensions.k8s.io', 'networking.istio.io', 'security.istio.io', 'telemetry.istio.io']) assert.ok(groups.includes(g), `${g} in ${groups.join(',')}`);
    const v1 = (await call(base, 'GET', '/api/v1')).body.resources as Array<{ name: string; namespaced: boolean }>;
    assert.ok(v1.some((r) => r.name === 'pods' && r.namespaced));
    assert.ok(v1.some((r) => r.name === 'namespaces' && !r.namespaced));
    const net = (await call(base, 'GET', '/apis/networking.istio.io/v1')).body.resources as Array<{ name: string; kind: string }>;
    assert.ok(net.some((r) => r.name === 'virtualservices' && r.kind === 'VirtualService'));
    assert.equal((await call(base, 'GET', '/apis/nothing.example/v1')).status, 404);
  });

  it('moves one cluster-wide resourceVersion on every write, and keeps uid and creation time across updates', async () => {
    const a = (await call(base, 'POST', '/api/v1/namespaces/default/configmaps', cm('rv-a'))).body as { metadata: { resourceVersion: string; uid: string } };
    const b = (await call(base, 'POST', '/apis/apps/v1/namespaces/default/deployments', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'rv-b' }, spec: { selector: { matchLabels: { app: 'b' } }, template: { metadata: { labels: { app: 'b' } }, spec: { containers: [{ name: 'b', image: 'b' }] } } } })).body as { metadata: { resourceVersion: string; generation: number } };
    assert.ok(Number(b.metadata.resourceVersion) > Number(a.metadata.resourceVersion));
    assert.equal(b.metadata.generation, 1);
    const list = (await call(base, 'GET', '/api/v1/configmaps')).body as { metadata: { resourceVersion: string } };
    assert.equal(list.metadata.resourceVersion, b.metadata.resourceVersion, "a list carries the cluster's current version");
    const updated = (await call(base, 'PUT', '/api/v1/namespaces/default/configmaps/rv-a', { ...cm('rv-a', {}, { k: 'v' }), metadata: { name: 'rv-a', resourceVersion: a.metadata.resourceVersion } })).body as { metadata: { resourceVersion: string; uid: string } };
    assert.equal(updated.metadata.uid, a.metadata.uid);
    assert.ok(Number(updated.metadata.resourceVersion) > Number(b.metadata.resourceVersion));
  });

  it('refuses an update with a stale resourceVersion with 409 Conflict, and a second create with 409 AlreadyExists', async () => {
    const first = (await call(base, 'POST', '/api/v1/namespaces/default/configmaps', cm('stale'))).body as { metadata: { resourceVersion: string } };
    await call(base, 'PUT', '/api/v1/namespaces/default/configmaps/stale', { ...cm('stale', { v: '2' }), metadata: { name: 'stale', resourceVersion: first.metadata.resourceVersion } });
    const conflict = await call(base, 'PUT', '/api/v1/namespaces/default/configmaps/stale', { ...cm('stale', { v: '3' }), metadata: { name: 'stale', resourceVersion: first.metadata.resourceVersion } });
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.reason, 'Conflict');
    assert.match(String(conflict.body.message), /the object has been modified; please apply your changes to the latest version and try again/);
    const again = await call(base, 'POST', '/api/v1/namespaces/default/configmaps', cm('stale'));
    assert.equal(again.status, 409);
    assert.equal(again.body.reason, 'AlreadyExists');
  });

  it('filters lists and watches by label (equality and set) and field selectors', async () => {
    await call(base, 'POST', '/api/v1/namespaces/default/configmaps', cm('sel-1', { app: 'x', tier: 'web' }));
    await call(base, 'POST', '/api/v1/namespaces/default/configmaps', cm('sel-2', { app: 'y', tier: 'web' }));
    await call(base, 'POST', '/api/v1/namespaces/default/configmaps', cm('sel-3', { app: 'z' }));
    const names = async (q: string): Promise<string[]> => ((await call(base, 'GET', `/api/v1/namespaces/default/configmaps?${q}`)).body.items as Array<{ metadata: { name: string } }>).map((o) => o.metadata.name).filter((n) => n.startsWith('sel-'));
    assert.deepEqual(await names('labelSelector=app%3Dx'), ['sel-1']);
    assert.deepEqual(await names(`labelSelector=${encodeURIComponent('app in (x,z)')}`), ['sel-1', 'sel-3']);
    assert.deepEqual(await names(`labelSelector=${encodeURIComponent('tier,app!=x')}`), ['sel-2']);
    assert.deepEqual(await names(`labelSelector=${encodeURIComponent('!tier')}`), ['sel-3']);
    assert.deepEqual(await names('fieldSelector=metadata.name%3Dsel-2'), ['sel-2']);
    assert.equal((await call(base, 'GET', `/api/v1/configmaps?labelSelector=${encodeURIComponent('a in x')}`)).status, 400);

    const rv = ((await call(base, 'GET', '/api/v1/configmaps')).body.metadata as { resourceVersion: string }).resourceVersion;
    const w = new WatchStream(base, `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}&labelSelector=tier%3Dweb`);
    // sel-3 joins the selection (ADDED), sel-1 leaves it (DELETED), sel-9 never matches.
    await call(base, 'PATCH', '/api/v1/namespaces/default/configmaps/sel-3', { metadata: { labels: { tier: 'web' } } }, 'application/merge-patch+json');
    await call(base, 'PATCH', '/api/v1/namespaces/default/configmaps/sel-1', { metadata: { labels: { tier: null } } }, 'application/merge-patch+json');
    await call(base, 'POST', '/api/v1/namespaces/default/configmaps', cm('sel-9', { app: 'q' }));
    await call(base, 'POST', '/api/v1/namespaces/default/configmaps', cm('sel-end', { tier: 'web' }));
    await w.until((e) => e.object.metadata?.name === 'sel-end');
    w.close();
    assert.deepEqual(
      w.events.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.type} ${e.object.metadata?.name}`),
      ['ADDED sel-3', 'DELETED sel-1', 'ADDED sel-end'],
    );
  });

  it('pages with limit and continue, the pages together being the whole list at one version', async () => {
    for (let i = 0; i < 5; i++) await call(base, 'POST', '/api/v1/namespaces/default/configmaps', cm(`page-${i}`, { paged: 'yes' }));
    const seen: string[] = [];
    let cont = '';
    let rv: string | undefined;
    do {
      const page = (await call(base, 'GET', `/api/v1/configmaps?labelSelector=paged%3Dyes&limit=2${cont === '' ? '' : `&continue=${encodeURIComponent(cont)}`}`)).body as { metadata: { continue?: string; resourceVersion: string }; items: Array<{ metadata: { name: string } }> };
      assert.ok(page.items.length <= 2);
      rv ??= page.metadata.resourceVersion;
      assert.equal(page.metadata.resourceVersion, rv);
      seen.push(...page.items.map((o) => o.metadata.name));
      cont = page.metadata.continue ?? '';
    } while (cont !== '');
    assert.deepEqual(seen, ['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
  });

  it('replays every change after a version in order, and DELETED carries the last state under a new version', async () => {
    const rv = Number(((await call(base, 'GET', '/api/v1/configmaps')).body.metadata as { resourceVersion: string }).resourceVersion);
    await call(base, 'POST', '/api/v1/namespaces/default/configmaps', cm('replay', {}, { v: '1' }));
    await call(base, 'PATCH', '/api/v1/namespaces/default/configmaps/replay', { data: { v: '2' } }, 'application/merge-patch+json');
    const gone = (await call(base, 'DELETE', '/api/v1/namespaces/default/configmaps/replay')).body as { metadata: { resourceVersion: string } };
    const w = new WatchStream(base, `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}&fieldSelector=metadata.name%3Dreplay`);
    await w.until((e) => e.type === 'DELETED');
    w.close();
    const evs = w.events.filter((e) => e.type !== 'BOOKMARK');
    assert.deepEqual(evs.map((e) => `${e.type} ${JSON.stringify(e.object.data)}`), ['ADDED {"v":"1"}', 'MODIFIED {"v":"2"}', 'DELETED {"v":"2"}']);
    const rvs = evs.map((e) => Number(e.object.metadata?.resourceVersion));
    assert.deepEqual(rvs, [...rvs].sort((a, b) => a - b));
    assert.equal(evs[2].object.metadata?.resourceVersion, gone.metadata.resourceVersion);
    assert.ok(rvs[2] > rvs[1], 'DELETED has a version of its own');
  });

  it('sends BOOKMARKs holding only a resourceVersion when asked, and none otherwise', async () => {
    const rv = ((await call(base, 'GET', '/api/v1/secrets')).body.metadata as { resourceVersion: string }).resourceVersion;
    const plain = new WatchStream(base, `/api/v1/secrets?watch=true&resourceVersion=${rv}`);
    const marked = new WatchStream(base, `/api/v1/secrets?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`);
    await call(base, 'POST', '/api/v1/namespaces/default/configmaps', cm('bookmark-moves-rv'));
    const now = ((await call(base, 'GET', '/api/v1/secrets')).body.metadata as { resourceVersion: string }).resourceVersion;
    const bm = await marked.until((e) => e.type === 'BOOKMARK' && e.object.metadata?.resourceVersion === now);
    assert.deepEqual(Object.keys(bm.object.metadata ?? {}), ['resourceVersion']);
    // The plain stream was open as long; it got no event at all.
    plain.close();
    marked.close();
    assert.deepEqual(plain.events, []);
  });

  it('ends a watch cleanly at timeoutSeconds', async () => {
    const w = new WatchStream(base, '/api/v1/configmaps?watch=true&timeoutSeconds=1');
    assert.equal(await w.ended, 'end');
    assert.equal(w.status, 200);
  });

  it('answers a watch from a compacted version with one ERROR 410 Expired event and a clean end, but never the version the latest list handed out', async () => {
    const old = ((await call(base, 'GET', '/api/v1/configmaps')).body.metadata as { resourceVersion: string }).resourceVersion;
    await call(base, 'POST', '/api/v1/namespaces/default/configmaps', cm('before-compaction'));
    api.compact();
    const listed = ((await call(base, 'GET', '/api/v1/configmaps')).body.metadata as { resourceVersion: string }).resourceVersion;
    const expired = new WatchStream(base, `/api/v1/configmaps?watch=true&resourceVersion=${old}`);
    assert.equal(await expired.ended, 'end');
    assert.equal(expired.status, 200);
    assert.equal(expired.events.length, 1);
    assert.equal(expired.events[0].type, 'ERROR');
    assert.equal(expired.events[0].object.code, 410);
    assert.equal(expired.events[0].object.reason, 'Expired');
    const exact = await call(base, 'GET', `/api/v1/configmaps?resourceVersion=${old}&resourceVersionMatch=Exact`);
    assert.equal(exact.status, 410);

    const fresh = new WatchStream(base, `/api/v1/configmaps?watch=true&resourceVersion=${listed}`);
    await call(base, 'POST', '/api/v1/namespaces/default/configmaps', cm('after-compaction'));
    await fresh.until((e) => e.object.metadata?.name === 'after-compaction');
    fresh.close();
    assert.ok(fresh.events.every((e) => e.type !== 'ERROR'));
  });

  it('compacts on its own once its bounded history is full', async () => {
    const old = ((await call(base, 'GET', '/api/v1/configmaps')).body.metadata as { resourceVersion: string }).resourceVersion;
    for (let i = 0; i < 60; i++) await call(base, 'PATCH', '/api/v1/namespaces/default/configmaps/stale', { data: { i: String(i) } }, 'application/merge-patch+json');
    const w = new WatchStream(base, `/api/v1/configmaps?watch=true&resourceVersion=${old}`);
    await w.ended;
    assert.equal(w.events[0]?.object.code, 410);
  });

  it('serves watch-list: the state as ADDED events, then a bookmark marking their end', async () => {
    const w = new WatchStream(base, '/api/v1/namespaces?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true');
    const end = await w.until((e) => e.type === 'BOOKMARK');
    w.close();
    assert.equal(end.object.metadata?.annotations?.['k8s.io/initial-events-end'], 'true');
    const before = w.events.slice(0, w.events.indexOf(end));
    assert.ok(before.every((e) => e.type === 'ADDED'));
    assert.ok(before.some((e) => e.object.metadata?.name === 'kube-system'));
    assert.equal((await call(base, 'GET', '/api/v1/namespaces?watch=true&sendInitialEvents=true')).status, 422);
  });

  it('answers TokenReview for the tokens it issued, checking the audience', async () => {
    const token = api.issueToken('bookinfo', 'bookinfo-reviews', ['istio-ca']);
    const review = (spec: object): Promise<{ status: { authenticated: boolean; user: { username?: string }; error?: string } }> =>
      call(base, 'POST', '/apis/authentication.k8s.io/v1/tokenreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec }).then((a) => a.body as never);
    const ok = await review({ token, audiences: ['istio-ca'] });
    assert.equal(ok.status.authenticated, true);
    assert.equal(ok.status.user.username, 'system:serviceaccount:bookinfo:bookinfo-reviews');
    const wrongAudience = await review({ token, audiences: ['https://kubernetes.default.svc.cluster.local'] });
    assert.equal(wrongAudience.status.authenticated, false);
    assert.match(wrongAudience.status.error ?? '', /audiences/);
    assert.equal((await review({ token: 'forged', audiences: ['istio-ca'] })).status.authenticated, false);
  });

  describe('faults', () => {
    it('drops every open watch stream: the client sees its connection cut', async () => {
      const w = new WatchStream(base, '/api/v1/configmaps?watch=true');
      await w.until((e) => e.type === 'ADDED');
      assert.ok(api.dropWatches() >= 1);
      assert.equal(await w.ended, 'aborted');
    });

    it('stalls open streams: nothing is delivered, not even their timeout, until resumed, then everything in order', async () => {
      const rv = ((await call(base, 'GET', '/api/v1/configmaps')).body.metadata as { resourceVersion: string }).resourceVersion;
      const stalled = new WatchStream(base, `/api/v1/configmaps?watch=true&resourceVersion=${rv}&timeoutSeconds=1&allowWatchBookmarks=true`);
      await call(base, 'POST', '/api/v1/namespaces/default/configmaps', cm('stall-0'));
      await stalled.until((e) => e.object.metadata?.name === 'stall-0');
      assert.ok(api.stallWatches() >= 1);
      await call(base, 'POST', '/api/v1/namespaces/default/configmaps', cm('stall-1'));
      // A stream opened after the change gets it; the stalled one, past its timeout, has neither it nor its end.
      const probe = new WatchStream(base, `/api/v1/configmaps?watch=true&resourceVersion=${rv}&timeoutSeconds=2`);
      await probe.until((e) => e.object.metadata?.name === 'stall-1');
      assert.equal(await probe.ended, 'end');
      assert.equal(stalled.events.some((e) => e.object.metadata?.name === 'stall-1'), false);
      api.resumeWatches();
      assert.equal(await stalled.ended, 'end');
      assert.ok(stalled.events.some((e) => e.object.metadata?.name === 'stall-1'));
    });

    it('restarts on the same port with the same objects, the watch history gone', async () => {
      const before = ((await call(base, 'GET', '/api/v1/namespaces/default/configmaps')).body.items as Array<{ metadata: { name: string; resourceVersion: string } }>).map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`);
      const old = ((await call(base, 'GET', '/api/v1/configmaps')).body.metadata as { resourceVersion: string }).resourceVersion;
      await call(base, 'POST', '/api/v1/namespaces/default/configmaps', cm('pre-restart'));
      const w = new WatchStream(base, '/api/v1/configmaps?watch=true');
      await w.until((e) => e.type === 'ADDED');
      await api.restart();
      assert.equal(await w.ended, 'aborted');
      assert.equal(api.url, base);
      const afterList = ((await call(base, 'GET', '/api/v1/namespaces/default/configmaps')).body.items as Array<{ metadata: { name: string; resourceVersion: string } }>).map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`);
      assert.deepEqual(afterList.filter((x) => !x.startsWith('pre-restart@')), before);
      const expired = new WatchStream(base, `/api/v1/configmaps?watch=true&resourceVersion=${old}`);
      await expired.ended;
      assert.equal(expired.events[0]?.object.code, 410);
    });
  });
});
