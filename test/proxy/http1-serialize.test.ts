/**
 * The HTTP/1.1 serializer and the pieces of the head parser that work on bytes alone, tested
 * directly: request and response heads written byte for byte (lowercase names, order and
 * repetition kept, pre-formatted extra lines last), reason phrases, the cached `date` value,
 * chunk framing and trailer sections; the request-line check that refuses non-HTTP bytes before a
 * head is complete, and the header-count limit.
 */
import { describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { HeaderList } from '../../src/proxy/http/headers.js';
import { chunkHeader, lastChunkWithTrailers, LAST_CHUNK } from '../../src/proxy/http1/body-decoder.js';
import { DEFAULT_MAX_REQUEST_HEADERS, Http1ParseError, RequestLineCheck, parseRequestHead } from '../../src/proxy/http1/head-parser.js';
import { httpDate, reasonPhrase, requestHeadText, responseHeadText, serializeResponseHead } from '../../src/proxy/http1/serialize.js';

function list(pairs: [string, string][]): HeaderList {
  return HeaderList.from(pairs);
}

describe('HTTP/1.1 serializer', () => {
  test('a response head: status line, fields in order with lowercase names, extra lines last, blank line', () => {
    const headers = list([
      ['Content-Type', 'text/plain'],
      ['Set-Cookie', 'a=1'],
      ['X-Mixed', 'Value With Spaces'],
      ['Set-Cookie', 'b=2'],
    ]);
    assert.equal(
      responseHeadText(200, headers, 'content-length: 5\r\n'),
      'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nset-cookie: a=1\r\nx-mixed: Value With Spaces\r\nset-cookie: b=2\r\ncontent-length: 5\r\n\r\n',
    );
  });

  test('a response head with no fields at all', () => {
    assert.equal(responseHeadText(204, new HeaderList(), ''), 'HTTP/1.1 204 No Content\r\n\r\n');
  });

  test('serializeResponseHead gives the same bytes as latin1', () => {
    const headers = list([['X-Latin1', 'caf\u00e9']]);
    const bytes = serializeResponseHead(404, headers, '');
    assert.deepEqual(bytes, Buffer.from('HTTP/1.1 404 Not Found\r\nx-latin1: caf\u00e9\r\n\r\n', 'latin1'));
    assert.equal(bytes.length, 'HTTP/1.1 404 Not Found\r\nx-latin1: café\r\n\r\n'.length, 'one byte per character');
  });

  test('a request head keeps method and target as given', () => {
    const headers = list([
      ['Host', 'reviews:9080'],
      ['Accept', '*/*'],
      ['Accept', 'text/html'],
    ]);
    assert.equal(
      requestHeadText('PATCH', '/api/v1/items?q=%2F&x=1', headers, 'transfer-encoding: chunked\r\n'),
      'PATCH /api/v1/items?q=%2F&x=1 HTTP/1.1\r\nhost: reviews:9080\r\naccept: */*\r\naccept: text/html\r\ntransfer-encoding: chunked\r\n\r\n',
    );
  });

  test('reason phrases are the standard ones; an unregistered status says Unknown', () => {
    assert.equal(reasonPhrase(200), 'OK');
    assert.equal(reasonPhrase(426), 'Upgrade Required');
    assert.equal(reasonPhrase(431), 'Request Header Fields Too Large');
    assert.equal(reasonPhrase(599), 'Unknown');
    assert.equal(responseHeadText(599, new HeaderList(), ''), 'HTTP/1.1 599 Unknown\r\n\r\n');
  });

  test('date is an IMF-fixdate, computed once a second', (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.UTC(2026, 11, 1, 10, 0, 0, 0) });
    try {
      assert.equal(httpDate(), 'Tue, 01 Dec 2026 10:00:00 GMT');
      t.mock.timers.tick(999);
      assert.equal(httpDate(), 'Tue, 01 Dec 2026 10:00:00 GMT', 'the same second');
      t.mock.timers.tick(1);
      assert.equal(httpDate(), 'Tue, 01 Dec 2026 10:00:01 GMT', 'the next second');
      t.mock.timers.tick(86_400_000);
      assert.equal(httpDate(), 'Wed, 02 Dec 2026 10:00:01 GMT');
    } finally {
      mock.timers.reset();
    }
  });

  test('chunk framing: hex sizes, the last chunk, trailers with lowercase names', () => {
    assert.equal(chunkHeader(1).toString('latin1'), '1\r\n');
    assert.equal(chunkHeader(255).toString('latin1'), 'ff\r\n');
    assert.equal(chunkHeader(65536).toString('latin1'), '10000\r\n');
    assert.equal(LAST_CHUNK.toString('latin1'), '0\r\n\r\n');
    const trailers = list([
      ['X-Checksum', 'abc'],
      ['Grpc-Status', '0'],
    ]);
    assert.equal(lastChunkWithTrailers(trailers).toString('latin1'), '0\r\nx-checksum: abc\r\ngrpc-status: 0\r\n\r\n');
  });
});

describe('request-line check on incomplete heads', () => {
  function refuses(...pieces: string[]): boolean {
    const check = new RequestLineCheck();
    try {
      for (const p of pieces) check.feed(Buffer.from(p, 'latin1'));
      return false;
    } catch (err) {
      assert.ok(err instanceof Http1ParseError);
      assert.equal(err.status, 400);
      return true;
    }
  }

  test('the beginnings of valid request lines pass, whatever the split', () => {
    const line = 'GET /a/b?c=d HTTP/1.1\r\nHost: x\r\n';
    for (let i = 0; i <= line.length; i++) assert.equal(refuses(line.slice(0, i), line.slice(i)), false, `split at ${i}`);
    assert.equal(refuses('\r\n\r\nPOST', ' /', ' HTTP/1.0\r'), false, 'empty lines before a request (RFC 9112 §2.2)');
    assert.equal(refuses('M-SEARCH * HTTP/1.1\n'), false, 'any token method, bare LF');
    assert.equal(refuses('GET /x HTTP/1.1\r\nX: \u0001\r\n'), false, 'only the request line is followed: the fields are checked when the head is whole');
  });

  test('bytes that cannot begin a request line are refused as soon as they arrive', () => {
    assert.equal(refuses('\u0016\u0003\u0001'), true, 'a TLS record');
    assert.equal(refuses('hello there, proxy'), true, 'words: a third one is no HTTP version');
    assert.equal(refuses('GET', '\t/'), true, 'a tab after the method');
    assert.equal(refuses('GET /a\u0001'), true, 'a control byte in the target');
    assert.equal(refuses('GET / HTTX'), true, 'not HTTP/');
    assert.equal(refuses('GET / HTTP/1.1x'), true, 'something after the version');
    assert.equal(refuses('GET / HTTP/a'), true, 'no version digit');
    assert.equal(refuses('SSH-2.0-OpenSSH_9.6\r\n'), true, 'a line with no spaces');
  });

  test('after the line it passes everything until reset', () => {
    const check = new RequestLineCheck();
    check.feed(Buffer.from('GET / HTTP/1.1\r\n'));
    check.feed(Buffer.from('\u0000\u0001 anything'));
    check.reset();
    assert.throws(() => check.feed(Buffer.from('\u0000')), Http1ParseError);
  });
});

describe('request header count', () => {
  function head(fields: number): Buffer {
    let s = 'GET / HTTP/1.1\r\nHost: x\r\n';
    for (let i = 1; i < fields; i++) s += `X-F${i}: v\r\n`;
    return Buffer.from(`${s}\r\n`, 'latin1');
  }

  test(`${DEFAULT_MAX_REQUEST_HEADERS} fields pass; one more is 431`, () => {
    assert.equal(parseRequestHead(head(DEFAULT_MAX_REQUEST_HEADERS)).headers.length, DEFAULT_MAX_REQUEST_HEADERS);
    assert.throws(
      () => parseRequestHead(head(DEFAULT_MAX_REQUEST_HEADERS + 1)),
      (err: unknown) => err instanceof Http1ParseError && err.status === 431 && err.details === 'http1.too_many_headers',
    );
  });

  test('the limit is the caller’s to set', () => {
    assert.equal(parseRequestHead(head(3), 3).headers.length, 3);
    assert.throws(() => parseRequestHead(head(4), 3), Http1ParseError);
  });
});
