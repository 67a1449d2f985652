/**
 * Bookinfo as its users see it: the four services run as real processes wired to each other
 * directly (the *_HOSTNAME / *_SERVICE_PORT overrides), and the product page, API and
 * downstream headers are checked against what Istio's documentation promises.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { closedPort, count, ENTRY, eventually, json, request, startApp, startRecorder, type App, type Recorder } from './helpers.js';

const REVIEWS_V1_BODY = {
  id: '0',
  podname: 'reviews-recorder',
  clustername: 'null',
  reviews: [
    { reviewer: 'Reviewer1', text: 'An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!' },
    { reviewer: 'Reviewer2', text: 'Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.' },
  ],
};

describe('bookinfo', () => {
  const apps: App[] = [];
  const recorders: Recorder[] = [];
  let details: App;
  let ratings: App;
  const reviews: Record<'v1' | 'v2' | 'v3', App> = {} as Record<'v1' | 'v2' | 'v3', App>;

  async function app(entry: string, env: Record<string, string> = {}): Promise<App> {
    const started = await startApp(entry, env);
    apps.push(started);
    return started;
  }

  async function recorder(respond?: Parameters<typeof startRecorder>[0]): Promise<Recorder> {
    const r = await startRecorder(respond);
    recorders.push(r);
    return r;
  }

  function productpage(reviewsPort: number, extra: Record<string, string> = {}): Promise<App> {
    return app(ENTRY.productpage, {
      DETAILS_HOSTNAME: '127.0.0.1',
      DETAILS_SERVICE_PORT: String(details.port),
      REVIEWS_HOSTNAME: '127.0.0.1',
      REVIEWS_SERVICE_PORT: String(reviewsPort),
      RATINGS_HOSTNAME: '127.0.0.1',
      RATINGS_SERVICE_PORT: String(ratings.port),
      ...extra,
    });
  }

  before(async () => {
    [details, ratings] = await Promise.all([app(ENTRY.details), app(ENTRY.ratings)]);
    const toRatings = { RATINGS_HOSTNAME: '127.0.0.1', RATINGS_SERVICE_PORT: String(ratings.port) };
    [reviews.v1, reviews.v2, reviews.v3] = await Promise.all([
      app(ENTRY.reviews, { ...toRatings, ENABLE_RATINGS: 'false', HOSTNAME: 'reviews-v1-test' }),
      app(ENTRY.reviews, { ...toRatings, ENABLE_RATINGS: 'true', STAR_COLOR: 'black', HOSTNAME: 'reviews-v2-test' }),
      app(ENTRY.reviews, { ...toRatings, ENABLE_RATINGS: 'true', STAR_COLOR: 'red', HOSTNAME: 'reviews-v3-test' }),
    ]);
  });

  after(async () => {
    await Promise.all([...apps.map((a) => a.stop()), ...recorders.map((r) => r.close())]);
  });

  test('details serves the book details and rejects a non-numeric id with 400', async () => {
    const ok = await request(`http://127.0.0.1:${details.port}/details/0`);
    assert.equal(ok.status, 200);
    assert.deepEqual(JSON.parse(ok.body), {
      id: 0,
      author: 'William Shakespeare',
      year: 1595,
      type: 'paperback',
      pages: 200,
      publisher: 'PublisherA',
      language: 'English',
      'ISBN-10': '1234567890',
      'ISBN-13': '123-1234567890',
    });
    const bad = await request(`http://127.0.0.1:${details.port}/details/abc`);
    assert.equal(bad.status, 400);
    assert.deepEqual(JSON.parse(bad.body), { error: 'please provide numeric product id' });
    assert.deepEqual(JSON.parse((await request(`http://127.0.0.1:${details.port}/health`)).body), { status: 'Details is healthy' });
    await eventually(() => /^GET \/details\/0 200$/m.test(details.stdout()));
    assert.match(details.stdout(), /^GET \/details\/0 200$/m);
  });

  test('ratings returns the default ratings, stores posted ones and rejects bad ids', async () => {
    const base = `http://127.0.0.1:${ratings.port}`;
    const ok = await request(`${base}/ratings/0`);
    assert.equal(ok.body, '{"id":0,"ratings":{"Reviewer1":5,"Reviewer2":4}}');
    assert.equal((await request(`${base}/ratings/zero`)).status, 400);
    const posted = await request(`${base}/ratings/7`, { method: 'POST', body: '{"Reviewer1":1,"Reviewer2":2}', headers: { 'content-type': 'application/json' } });
    assert.equal(posted.status, 200);
    assert.deepEqual(JSON.parse((await request(`${base}/ratings/7`)).body), { id: 7, ratings: { Reviewer1: 1, Reviewer2: 2 } });
    assert.equal((await request(`${base}/ratings/7`, { method: 'POST', body: 'not json' })).status, 400);
  });

  test('reviews v1 has no ratings, v2 black and v3 red stars, each naming its pod', async () => {
    const v1 = JSON.parse((await request(`http://127.0.0.1:${reviews.v1.port}/reviews/0`)).body);
    assert.deepEqual(v1, { ...REVIEWS_V1_BODY, podname: 'reviews-v1-test' });
    for (const [version, color] of [['v2', 'black'], ['v3', 'red']] as const) {
      const body = JSON.parse((await request(`http://127.0.0.1:${reviews[version].port}/reviews/0`)).body);
      assert.equal(body.podname, `reviews-${version}-test`);
      assert.equal(body.id, '0');
      assert.equal(body.clustername, 'null');
      assert.deepEqual(
        (body.reviews as { rating: unknown }[]).map((r) => r.rating),
        [
          { stars: 5, color },
          { stars: 4, color },
        ],
      );
    }
    assert.equal((await request(`http://127.0.0.1:${reviews.v1.port}/reviews/abc`)).status, 404);
  });

  test('the product page shows details and stars per reviews version', async () => {
    for (const [version, filled, marker] of [
      ['v1', 0, undefined],
      ['v2', 9, '<div class="flex gap-x-1 text-black-500">'],
      ['v3', 9, '<div class="flex gap-x-1 text-red-500">'],
    ] as const) {
      const page = await productpage(reviews[version].port);
      const res = await request(`http://127.0.0.1:${page.port}/productpage`);
      assert.equal(res.status, 200);
      for (const text of ['<title>Simple Bookstore App</title>', 'BookInfo Sample', 'The Comedy of Errors', "William Shakespeare's", 'Sign in', 'Book Details', '1234567890', 'PublisherA', 'Book Reviews']) {
        assert.ok(res.body.includes(text), `${version} page lacks ${text}`);
      }
      assert.equal(count(res.body, 'Reviews served by: reviews-' + version + '-test'), 2);
      assert.equal(count(res.body, '<svg id="glyphicon glyphicon-star"'), filled, `${version} filled stars`);
      if (marker) assert.equal(count(res.body, marker), 2);
      else assert.ok(!res.body.includes('glyphicon glyphicon-star'));
      assert.ok(!res.body.includes('Ratings service is currently unavailable'));
    }
  });

  test('login keeps a session whose user is sent downstream as end-user, with the trace headers', async () => {
    const rec = await recorder((_r, res) => json(res, 200, REVIEWS_V1_BODY));
    const page = await productpage(rec.port);
    const base = `http://127.0.0.1:${page.port}`;

    const noReferer = await request(`${base}/login`, { method: 'POST', body: 'username=jason&passwd=password', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(noReferer.status, 302);
    assert.equal(noReferer.headers.location, undefined);
    const login = await request(`${base}/login`, {
      method: 'POST',
      body: 'username=jason&passwd=password',
      headers: { 'content-type': 'application/x-www-form-urlencoded', referer: `${base}/productpage` },
    });
    assert.equal(login.status, 302);
    assert.equal(login.headers.location, `${base}/productpage`);
    const setCookie = login.headers['set-cookie']?.[0] ?? '';
    assert.match(setCookie, /^session=[^;]+; HttpOnly; Path=\/$/);
    const cookie = setCookie.split(';')[0];

    const trace = {
      'x-request-id': 'req-1',
      'x-b3-traceid': '463ac35c9f6413ad48485a3953bb6124',
      'x-b3-spanid': 'a2fb4a1d1a96d312',
      'x-b3-parentspanid': '0020000000000001',
      'x-b3-sampled': '1',
      b3: '463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-1',
      traceparent: '00-463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-01',
      tracestate: 'k=v',
      'x-datadog-trace-id': '42',
      sw8: 'sw',
      authorization: 'Bearer token',
      'user-agent': 'bookinfo-test',
    };
    const res = await request(`${base}/productpage`, { headers: { cookie, 'end-user': 'mallory', ...trace } });
    assert.ok(res.body.includes('jason') && res.body.includes('Sign out'));
    assert.ok(!res.body.includes('Sign in'));
    const sent = rec.requests.at(-1)!;
    assert.equal(sent.url, '/reviews/0');
    assert.equal(sent.headers['end-user'], 'jason');
    for (const [name, value] of Object.entries(trace)) assert.equal(sent.headers[name], value, name);
    assert.equal(sent.headers.cookie, cookie);

    // Without a session no end-user is sent, whatever the caller claims.
    await request(`${base}/productpage`, { headers: { 'end-user': 'jason' } });
    assert.equal(rec.requests.at(-1)!.headers['end-user'], undefined);

    const logout = await request(`${base}/logout`, { headers: { cookie, referer: `${base}/productpage` } });
    assert.equal(logout.status, 302);
    assert.match(logout.headers['set-cookie']?.[0] ?? '', /^session=; .*Max-Age=0/);
  });

  test('reviews forwards end-user and trace headers to ratings', async () => {
    const rec = await recorder((_r, res) => json(res, 200, { id: 0, ratings: { Reviewer1: 1, Reviewer2: 2 } }));
    const rv = await app(ENTRY.reviews, { ENABLE_RATINGS: 'true', STAR_COLOR: 'red', RATINGS_HOSTNAME: '127.0.0.1', RATINGS_SERVICE_PORT: String(rec.port) });
    const res = await request(`http://127.0.0.1:${rv.port}/reviews/0`, { headers: { 'end-user': 'jason', 'x-request-id': 'r2', traceparent: 'tp' } });
    assert.deepEqual(JSON.parse(res.body).reviews[1].rating, { stars: 2, color: 'red' });
    assert.equal(rec.requests[0].url, '/ratings/0');
    assert.equal(rec.requests[0].headers['end-user'], 'jason');
    assert.equal(rec.requests[0].headers['x-request-id'], 'r2');
    assert.equal(rec.requests[0].headers.traceparent, 'tp');
  });

  test('failing reviews are tried twice, then the page shows the reviews error', async () => {
    const rec = await recorder((_r, res) => json(res, 503, { error: 'unavailable' }));
    const page = await productpage(rec.port);
    const res = await request(`http://127.0.0.1:${page.port}/productpage`);
    assert.equal(res.status, 200);
    assert.ok(res.body.includes('Error fetching product reviews'));
    assert.ok(res.body.includes('Sorry, product reviews are currently unavailable for this book.'));
    assert.ok(res.body.includes('Book Details'));
    assert.equal(rec.requests.length, 2);

    const api = await request(`http://127.0.0.1:${page.port}/api/v1/products/0/reviews`);
    assert.equal(api.status, 503);
    assert.deepEqual(JSON.parse(api.body), { error: 'Sorry, product reviews are currently unavailable for this book.' });
    assert.equal(rec.requests.length, 4);
  });

  test('unreachable details show the details error; the API answers 500', async () => {
    const page = await productpage(reviews.v1.port, { DETAILS_SERVICE_PORT: String(await closedPort()) });
    const res = await request(`http://127.0.0.1:${page.port}/productpage`);
    assert.ok(res.body.includes('Error fetching product details'));
    assert.ok(res.body.includes('Sorry, product details are currently unavailable for this book.'));
    assert.ok(!res.body.includes('Book Details'));
    assert.ok(res.body.includes('Book Reviews'));
    assert.equal((await request(`http://127.0.0.1:${page.port}/api/v1/products/0`)).status, 500);
  });

  test('reviews v2/v3 show the ratings error when ratings fails or is slower than their timeout', async () => {
    const slow = await app(ENTRY.ratings, { SERVICE_VERSION: 'v-delayed', RATINGS_RANDOM: '0', RATINGS_DELAY_MS: '3000' });
    const down = await closedPort();
    for (const port of [down, slow.port]) {
      const rv = await app(ENTRY.reviews, { ENABLE_RATINGS: 'true', STAR_COLOR: 'red', RATINGS_HOSTNAME: '127.0.0.1', RATINGS_SERVICE_PORT: String(port), RATINGS_TIMEOUT_MS: '300' });
      const body = JSON.parse((await request(`http://127.0.0.1:${rv.port}/reviews/0`)).body);
      assert.deepEqual(
        (body.reviews as { rating: unknown }[]).map((r) => r.rating),
        [{ error: 'Ratings service is currently unavailable' }, { error: 'Ratings service is currently unavailable' }],
      );
      const page = await productpage(rv.port);
      const html = (await request(`http://127.0.0.1:${page.port}/productpage`)).body;
      assert.equal(count(html, 'Ratings service is currently unavailable'), 2);
      assert.ok(!html.includes('glyphicon glyphicon-star'));
    }
  });

  test('outbound calls go through HTTP_PROXY in absolute form, except hosts in NO_PROXY', async () => {
    const proxy = await recorder((r, res) => (r.url.includes('/reviews/') ? json(res, 200, REVIEWS_V1_BODY) : json(res, 404, {})));
    const page = await app(ENTRY.productpage, { HTTP_PROXY: proxy.url, DETAILS_HOSTNAME: '127.0.0.1', DETAILS_SERVICE_PORT: String(details.port), NO_PROXY: '127.0.0.1' });
    const html = (await request(`http://127.0.0.1:${page.port}/productpage`)).body;
    assert.ok(html.includes('Book Details'), 'details reached directly');
    assert.ok(html.includes('Reviews served by: reviews-recorder'), 'reviews answered by the proxy');
    assert.deepEqual(
      proxy.requests.map((r) => [r.method, r.url, r.headers.host]),
      [['GET', 'http://reviews:9080/reviews/0', 'reviews:9080']],
    );
  });

  test('product list, health, index and metrics', async () => {
    const page = await productpage(reviews.v2.port);
    const base = `http://127.0.0.1:${page.port}`;
    const products = JSON.parse((await request(`${base}/api/v1/products`)).body);
    assert.equal(products[0].id, 0);
    assert.equal(products[0].title, 'The Comedy of Errors');
    assert.equal((await request(`${base}/health`)).body, 'Product page is healthy');
    assert.ok((await request(`${base}/`)).body.includes('productpage?u=normal'));
    assert.deepEqual(JSON.parse((await request(`${base}/api/v1/products/0/ratings`)).body), { id: 0, ratings: { Reviewer1: 5, Reviewer2: 4 } });
    assert.equal((await request(`${base}/static/bookinfo.css`)).status, 200);
    assert.equal((await request(`${base}/nope`)).status, 404);
    await request(`${base}/productpage`);
    const metrics = (await request(`${base}/metrics`)).body;
    assert.match(metrics, /^request_result_total\{destination_app="details",response_code="200"\} 1\.0$/m);
    assert.match(metrics, /^request_result_total\{destination_app="reviews",response_code="200"\} 1\.0$/m);
    await eventually(() => /^GET \/productpage 200$/m.test(page.stdout()));
    assert.match(page.stdout(), /^GET \/productpage 200$/m);
  });

  test('ratings variants: v-faulty fails when the dice say so, v-unavailable alternates', async () => {
    const faulty = await app(ENTRY.ratings, { SERVICE_VERSION: 'v-faulty', RATINGS_RANDOM: '0.3' });
    const failed = await request(`http://127.0.0.1:${faulty.port}/ratings/0`);
    assert.equal(failed.status, 503);
    assert.deepEqual(JSON.parse(failed.body), { error: 'Service unavailable' });
    const lucky = await app(ENTRY.ratings, { SERVICE_VERSION: 'v-faulty', RATINGS_RANDOM: '0.7' });
    assert.equal((await request(`http://127.0.0.1:${lucky.port}/ratings/0`)).status, 200);

    const toggling = await app(ENTRY.ratings, { SERVICE_VERSION: 'v-unhealthy', RATINGS_TOGGLE_PERIOD_MS: '150' });
    const seen = new Set<number>();
    const healthSeen = new Set<number>();
    for (let i = 0; i < 200 && (seen.size < 2 || healthSeen.size < 2); i++) {
      seen.add((await request(`http://127.0.0.1:${toggling.port}/ratings/0`)).status);
      healthSeen.add((await request(`http://127.0.0.1:${toggling.port}/health`)).status);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual([...seen].sort(), [200, 503]);
    assert.deepEqual([...healthSeen].sort(), [200, 500]);
  });

  test('details v2 looks the book up externally through the proxy', async () => {
    const proxy = await recorder((_r, res) =>
      json(res, 200, {
        items: [
          {
            volumeInfo: {
              authors: ['William Shakespeare'],
              publishedDate: '2002',
              printType: 'BOOK',
              pageCount: 80,
              publisher: 'Dover',
              language: 'en',
              industryIdentifiers: [
                { type: 'ISBN_10', identifier: '0486424618' },
                { type: 'ISBN_13', identifier: '9780486424613' },
              ],
            },
          },
        ],
      }),
    );
    const v2 = await app(ENTRY.details, { ENABLE_EXTERNAL_BOOK_SERVICE: 'true', DO_NOT_ENCRYPT: 'true', HTTP_PROXY: proxy.url });
    const body = JSON.parse((await request(`http://127.0.0.1:${v2.port}/details/0`)).body);
    assert.deepEqual(body, { id: 0, author: 'William Shakespeare', year: '2002', type: 'paperback', pages: 80, publisher: 'Dover', language: 'English', 'ISBN-10': '0486424618', 'ISBN-13': '9780486424613' });
    assert.equal(proxy.requests[0].url, 'http://www.googleapis.com/books/v1/volumes?q=isbn:0486424618');
  });

  test('apps stop cleanly on SIGTERM', async () => {
    const temp = await startApp(ENTRY.details);
    assert.equal(await temp.stop(), 0);
    assert.match(temp.stdout(), /details stopping on SIGTERM/);
  });
});
