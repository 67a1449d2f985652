/**
 * The HTTP/1.1 reading side on bytes, without a proxy around it: where a head ends however it is
 * split, what a request or status line and header fields parse to, what is refused with which
 * status and Envoy response code details, how bodies are framed (Content-Length, chunked with
 * extensions and trailers, read until close) and delivered, which target forms are accepted, and
 * when a connection stays open.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BodyDecoder, Framing, lastChunkWithTrailers } from '../../src/proxy/http1/body-decoder.js';
import type { DecoderOutput } from '../../src/proxy/http1/body-decoder.js';
import { parseTarget, requestFraming, responseFraming, wantsKeepAlive } from '../../src/proxy/http1/framing.js';
import { HeadScanner, Http1ParseError, RequestLineCheck, parseFields, parseRequestHead, parseResponseHead } from '../../src/proxy/http1/head-parser.js';
import { HeaderList } from '../../src/proxy/http/headers.js';

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Asserts that `fn` throws an Http1ParseError with this status, details and message. */
function refused(fn: () => unknown, status: number, details: string, message: string | RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Http1ParseError, `expected Http1ParseError, got ${String(e)}`);
    assert.equal(e.name, 'Http1ParseError');
    assert.equal(e.status, status);
    assert.equal(e.details, details);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

function headers(...pairs: [string, string][]): HeaderList {
  const h = new HeaderList();
  for (const [n, v] of pairs) h.push(n, n.toLowerCase(), v);
  return h;
}

/** The fields of a list as [name, value] pairs, in order. */
const fields = (h: HeaderList): [string, string][] => h.names.map((n, i) => [n, h.values[i]]);

describe('head scanner: where a head ends', () => {
  const head = 'GET / HTTP/1.1\r\nHost: a\r\n\r\n';

  test('a head in one chunk ends just past its blank line; pipelined bytes after it are not part of it', () => {
    const s = new HeadScanner(1024);
    const chunk = bytes(`${head}GET /next`);
    const end = s.scan(chunk);
    assert.equal(end, head.length);
    assert.equal(s.take(chunk, end).toString('latin1'), head);
    assert.equal(s.buffered, 0);
  });

  test('split at every byte, the head ends at the same place and is put back together whole', () => {
    for (const ending of ['\r\n\r\n', '\n\n', '\r\n\n', '\n\r\n']) {
      const text = `GET / HTTP/1.1\r\nHost: a${ending}`;
      for (let cut = 1; cut < text.length; cut++) {
        const s = new HeadScanner(1024);
        assert.equal(s.scan(bytes(text.slice(0, cut))), -1, `${JSON.stringify(ending)} cut at ${cut}`);
        assert.equal(s.buffered, cut);
        const rest = bytes(text.slice(cut));
        const end = s.scan(rest);
        assert.equal(end, text.length - cut, `${JSON.stringify(ending)} cut at ${cut}`);
        assert.equal(s.take(rest, end).toString('latin1'), text);
      }
    }
  });

  test('byte by byte, nothing ends before the blank line', () => {
    const s = new HeadScanner(1024);
    const text = 'GET / HTTP/1.1\r\nA: \r\r\nB: x\r\n\r\n';
    for (let i = 0; i < text.length - 1; i++) assert.equal(s.scan(bytes(text[i])), -1, `at ${i}`);
    const last = bytes(text[text.length - 1]);
    assert.equal(s.scan(last), 1);
    assert.equal(s.take(last, 1).toString('latin1'), text);
  });

  test('a CR not followed by LF does not end a line, nor does CR CR LF make a blank line', () => {
    const s = new HeadScanner(1024);
    assert.equal(s.scan(bytes('GET / HTTP/1.1\r\nA: b\r\n\rX: y\r\n')), -1);
    assert.equal(s.scan(bytes('\r\r\nX\nY: z\r\n')), -1, 'neither CR CR LF nor a one-byte line is blank');
    assert.equal(s.scan(bytes('\r\n')), 2);
  });

  test('the bytes kept are a copy: the caller may reuse its read buffer', () => {
    const s = new HeadScanner(1024);
    const first = bytes('GET / HTTP/1.1\r\n');
    s.scan(first);
    first.fill(0x41);
    const second = bytes('Host: a\r\n\r\n');
    const end = s.scan(second);
    assert.equal(s.take(second, end).toString('latin1'), 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  });

  test('after a head is taken the scanner starts afresh', () => {
    const s = new HeadScanner(1024);
    const a = bytes('GET /a HTTP/1.1\r\nHost: a\r\n');
    s.scan(a);
    const b = bytes('\r\n');
    s.take(b, s.scan(b));
    const next = bytes('GET /b HTTP/1.1\r\n');
    assert.equal(s.scan(next), -1, 'a line ending right after reset is not a blank line already seen');
    assert.equal(s.buffered, next.length);
    const tail = bytes('\r\n');
    assert.equal(s.take(tail, s.scan(tail)).toString('latin1'), 'GET /b HTTP/1.1\r\n\r\n');
  });

  test('a head of exactly the limit passes; one byte more is 431, whether it ends or not', () => {
    const exact = new HeadScanner(head.length);
    assert.equal(exact.scan(bytes(head)), head.length);
    refused(() => new HeadScanner(head.length - 1).scan(bytes(head)), 431, 'http1.headers_too_large', 'headers size exceeds limit');

    const split = new HeadScanner(head.length);
    assert.equal(split.scan(bytes(head.slice(0, 10))), -1);
    assert.equal(split.scan(bytes(head.slice(10))), head.length - 10);
    const over = new HeadScanner(head.length - 1);
    over.scan(bytes(head.slice(0, 10)));
    refused(() => over.scan(bytes(head.slice(10))), 431, 'http1.headers_too_large', 'headers size exceeds limit');

    const unended = new HeadScanner(8);
    assert.equal(unended.scan(bytes('GET / HT')), -1);
    refused(() => unended.scan(bytes('T')), 431, 'http1.headers_too_large', 'headers size exceeds limit');
  });
});

describe('request-line check on incomplete heads, byte by byte', () => {
  const feedAll = (text: string): void => {
    const c = new RequestLineCheck();
    for (const ch of text) c.feed(bytes(ch));
  };

  test('empty lines before the request line and every valid version pass', () => {
    for (const line of ['\r\n\r\nGET / HTTP/1.1\r\n', '\nGET / HTTP/1.0\n', 'M-SEARCH * HTTP/1.1\r', "A!#$%&'*+-.^_`|~z /x HTTP/9.9\n"]) feedAll(line);
  });

  test('each byte that breaks the line is refused with what it broke', () => {
    const cases: [string, string][] = [
      ['(GET', 'invalid request method'],
      ['G(T', 'invalid request method'],
      ['GET /a\x01', 'invalid character in request target'],
      ['GET /a\x7f', 'invalid character in request target'],
      ['GET /a\x1f', 'invalid character in request target'],
      ['GET / XTTP', 'invalid HTTP version'],
      ['GET / HTTX', 'invalid HTTP version'],
      ['GET / HTTP-', 'invalid HTTP version'],
      ['GET / HTTP/a', 'invalid HTTP version'],
      ['GET / HTTP//', 'invalid HTTP version'],
      ['GET / HTTP/:', 'invalid HTTP version'],
      ['GET / HTTP/1,', 'invalid HTTP version'],
      ['GET / HTTP/1.x', 'invalid HTTP version'],
      ['GET / HTTP/1.1x', 'invalid HTTP version'],
      ['GET / HTTP/1.1 ', 'invalid HTTP version'],
    ];
    for (const [text, message] of cases) {
      refused(() => feedAll(text), 400, 'http1.codec_error', message);
      refused(() => new RequestLineCheck().feed(bytes(text)), 400, 'http1.codec_error', message);
    }
  });

  test('the target may hold any byte from space up, but DEL and controls are refused', () => {
    feedAll('GET /~\x80\xff HTTP/1.1\r');
  });

  test('after a complete line anything passes; reset starts a new line', () => {
    const c = new RequestLineCheck();
    c.feed(bytes('GET / HTTP/1.1\r'));
    c.feed(bytes('\n\x00\x01 anything'));
    c.reset();
    refused(() => c.feed(bytes('\x16\x03\x01')), 400, 'http1.codec_error', 'invalid request method');
    c.reset();
    c.feed(bytes('GET / HTTP/1.'));
    c.reset();
    c.feed(bytes('PUT / HTTP/1.0\n'));
  });
});

describe('request heads', () => {
  test('method, target and version; empty lines before the request line are skipped', () => {
    const { line, headers: h } = parseRequestHead(bytes('\r\n\nPATCH /a?b=c HTTP/1.0\r\nHost: x\r\n\r\n'));
    assert.deepEqual(line, { method: 'PATCH', target: '/a?b=c', minor: 0 });
    assert.deepEqual(fields(h), [['Host', 'x']]);
    assert.deepEqual(parseRequestHead(bytes('GET * HTTP/1.1\n\n')).line, { method: 'GET', target: '*', minor: 1 });
  });

  test('a line that is not method SP target SP version is refused, naming the part', () => {
    const cases: [string, number, string][] = [
      [' GET / HTTP/1.1', 400, 'invalid request method'],
      ['GET', 400, 'invalid request method'],
      ['G(T / HTTP/1.1', 400, 'invalid request method'],
      ['GET\t/ HTTP/1.1', 400, 'invalid request method'],
      ['GET /', 400, 'invalid request line'],
      ['GET  / HTTP/1.1', 400, 'invalid request line'],
      ['GET / ', 400, 'invalid HTTP version'],
      ['GET /a\x7f HTTP/1.1', 400, 'invalid character in request target'],
      ['GET /a\x01b HTTP/1.1', 400, 'invalid character in request target'],
      ['GET /a\tb HTTP/1.1', 400, 'invalid character in request target'],
      ['GET / HTTP/1.1 ', 400, 'invalid HTTP version'],
      ['GET / HTTP/1.', 400, 'invalid HTTP version'],
      ['GET / http/1.1', 400, 'invalid HTTP version'],
      ['GET / HTTP/1.10', 400, 'invalid HTTP version'],
      ['GET / HTTP/1.x', 400, 'invalid HTTP version'],
      ['GET / HTTP/1.2', 505, 'unsupported HTTP version HTTP/1.2'],
      ['GET / HTTP/2.0', 505, 'unsupported HTTP version HTTP/2.0'],
      ['GET / HTTP/0.9', 505, 'unsupported HTTP version HTTP/0.9'],
      ['GET / XHTTP/1.1', 400, 'invalid HTTP version'],
    ];
    for (const [line, status, message] of cases) {
      refused(() => parseRequestHead(bytes(`${line}\r\nHost: a\r\n\r\n`)), status, 'http1.codec_error', message);
    }
  });

  test('a request line with one space and no header after it is an invalid request line', () => {
    refused(() => parseRequestHead(bytes('GET /x\r\n\r\n')), 400, 'http1.codec_error', 'invalid request line');
  });

  test('token characters at the ends of each range make method and header names', () => {
    const { line, headers: h } = parseRequestHead(bytes('AZaz09 / HTTP/1.1\r\nX-Zone-az09: 1\r\n\r\n'));
    assert.equal(line.method, 'AZaz09');
    assert.deepEqual(fields(h), [['X-Zone-az09', '1']]);
  });

  test('the version is read where the line ends, with CR LF or a bare LF', () => {
    assert.equal(parseRequestHead(bytes('GET / HTTP/1.0\nA: b\n\n')).line.minor, 0);
    assert.equal(parseRequestHead(bytes('GET / HTTP/1.1\r\n\r\n')).line.minor, 1);
  });
});

describe('status lines', () => {
  test('status, reason and version', () => {
    assert.deepEqual(parseResponseHead(bytes('HTTP/1.1 404 Not Found\r\nA: b\r\n\r\n')).line, { status: 404, reason: 'Not Found', minor: 1 });
    assert.deepEqual(parseResponseHead(bytes('HTTP/1.0 100 x\r\n\r\n')).line, { status: 100, reason: 'x', minor: 0 });
    assert.deepEqual(parseResponseHead(bytes('HTTP/1.1 999 \r\n\r\n')).line, { status: 999, reason: '', minor: 1 });
    assert.deepEqual(parseResponseHead(bytes('HTTP/1.1 204\r\n\r\n')).line, { status: 204, reason: '', minor: 1 });
    assert.deepEqual(fields(parseResponseHead(bytes('HTTP/1.1 200 OK\nSet-Cookie: a\nset-cookie: b\n\n')).headers), [['Set-Cookie', 'a'], ['set-cookie', 'b']]);
  });

  test('a status line that is not HTTP/1.x SP three digits is an upstream protocol error', () => {
    const cases: [string, string][] = [
      ['HTTP/1.1', 'invalid status line'],
      ['HTTP/1\r\n 200 OK', 'invalid status line'],
      ['HTTP/1.', 'invalid status line'],
      ['HTTP/2 200 OK', 'invalid status line'],
      ['HTTP/1.2 200 OK', 'invalid status line'],
      ['HTTP/1.1200 OK', 'invalid status line'],
      ['http/1.1 200 OK', 'invalid status line'],
      ['HTTP/1.1 099 Low', 'invalid status code'],
      ['HTTP/1.1 :00 x', 'invalid status code'],
      ['HTTP/1.1 2/0 x', 'invalid status code'],
      ['HTTP/1.1 2:0 x', 'invalid status code'],
      ['HTTP/1.1 20/ x', 'invalid status code'],
      ['HTTP/1.1 20: x', 'invalid status code'],
      ['HTTP/1.1 20', 'invalid status code'],
      ['HTTP/1.1 2000 x', 'invalid status code'],
      ['HTTP/1.1 200x', 'invalid status code'],
    ];
    for (const [line, message] of cases) refused(() => parseResponseHead(bytes(`${line}\r\n\r\n`)), 400, 'upstream.protocol_error', message);
  });
});

describe('header fields', () => {
  test('names keep their case beside a lowercase copy; values lose surrounding spaces and tabs; order and repeats are kept', () => {
    const h = parseFields(bytes('X-A:1\r\nx-a: \t two words \t\r\nEmpty:\r\nSpaces:   \r\nTab:\tv\r\n\r\nAfter: blank\r\n'), 0);
    assert.deepEqual(fields(h), [['X-A', '1'], ['x-a', 'two words'], ['Empty', ''], ['Spaces', ''], ['Tab', 'v']]);
    assert.deepEqual(h.lower, ['x-a', 'x-a', 'empty', 'spaces', 'tab']);
  });

  test('fields start where the caller says and end at the end of the buffer without a blank line', () => {
    const buf = bytes('skip me\r\nA: b\nC: d');
    assert.deepEqual(fields(parseFields(buf, 9)), [['A', 'b'], ['C', 'd']]);
  });

  test('malformed field lines are refused, naming the fault', () => {
    const cases: [string, string][] = [
      [' folded: x', 'obsolete line folding in header'],
      ['\tfolded: x', 'obsolete line folding in header'],
      [': no name', 'invalid header name'],
      ['Name : v', 'invalid header name'],
      ['Name\t: v', 'invalid header name'],
      ['NoColon', 'invalid header name'],
      ['Na(me: v', 'invalid header name'],
      ['Name: a\x00b', 'invalid character in header value'],
      ['Name: a\x1fb', 'invalid character in header value'],
      ['Name: a\x7fb', 'invalid character in header value'],
      ['Name: \x08', 'invalid character in header value'],
    ];
    for (const [line, message] of cases) refused(() => parseFields(bytes(`A: ok\r\n${line}\r\n\r\n`), 0), 400, 'http1.codec_error', message);
    assert.deepEqual(fields(parseFields(bytes('Name: a\tb\x80\xff\r\n\r\n'), 0)), [['Name', 'a\tb\x80\xff']]);
  });

  test('long values: every control character is refused wherever it sits and however the bytes are aligned, tab and obs-text pass', () => {
    // Values of 16 bytes and more are checked a word at a time: each forbidden byte is tried at
    // each position of a 40-byte value, with the head starting at each offset of a word.
    const forbidden = [0x00, 0x01, 0x08, 0x0a, 0x0b, 0x0d, 0x1f, 0x7f];
    const allowed = [0x09, 0x20, 0x7e, 0x80, 0xa0, 0xff];
    const value = (at: number, b: number): string => `${'v'.repeat(at)}${String.fromCharCode(b)}${'w'.repeat(39 - at)}`;
    for (let offset = 0; offset < 4; offset++) {
      const inBuffer = (head: string): Buffer => {
        const room = Buffer.alloc(offset + head.length + 3, 0x41);
        room.write(head, offset, 'latin1');
        return room.subarray(offset, offset + head.length);
      };
      for (let at = 1; at < 39; at++) {
        for (const b of forbidden) {
          // CR and LF inside a value end the line early: what follows is then a bad field line.
          const message = b === 0x0a || b === 0x0d ? /invalid/ : 'invalid character in header value';
          refused(() => parseFields(inBuffer(`Long: ${value(at, b)}\r\n\r\n`), 0), 400, 'http1.codec_error', message);
        }
        for (const b of allowed) {
          const v = value(at, b);
          assert.deepEqual(fields(parseFields(inBuffer(`Long: ${v}\r\n\r\n`), 0)), [['Long', v]], `byte ${b} at ${at}, offset ${offset}`);
        }
      }
    }
  });

  test('a lowercase name is its own lowercase form; any uppercase letter is lowered', () => {
    const h = parseFields(bytes('x-envoy-peer-metadata-id: a\r\nContent-Type: b\r\nX-B3-TraceId: c\r\n\r\n'), 0);
    assert.deepEqual(h.names, ['x-envoy-peer-metadata-id', 'Content-Type', 'X-B3-TraceId']);
    assert.deepEqual(h.lower, ['x-envoy-peer-metadata-id', 'content-type', 'x-b3-traceid']);
  });

  test('the field count limit counts fields, not the blank line', () => {
    assert.equal(parseFields(bytes('A: 1\r\nB: 2\r\n\r\n'), 0, undefined, 2).length, 2);
    refused(() => parseFields(bytes('A: 1\r\nB: 2\r\nC: 3\r\n\r\n'), 0, undefined, 2), 431, 'http1.too_many_headers', 'more than 2 header fields');
  });
});

/** Collects what a decoder delivers. */
class Collector implements DecoderOutput {
  readonly data: Buffer[] = [];
  ends = 0;
  trailers: HeaderList | null | undefined = undefined;
  onBodyData(chunk: Buffer): void {
    this.data.push(Buffer.from(chunk));
  }
  onBodyEnd(trailers: HeaderList | null): void {
    this.ends++;
    this.trailers = trailers;
  }
  get body(): string {
    return Buffer.concat(this.data).toString('latin1');
  }
}

/** Feeds `text` to a new chunked decoder in pieces of `step` bytes; returns the output and bytes consumed. */
function chunked(text: string, step = text.length, trailerLimit = 1024): { out: Collector; consumed: number; decoder: BodyDecoder } {
  const decoder = new BodyDecoder(Framing.Chunked, -1, trailerLimit);
  const out = new Collector();
  let consumed = 0;
  for (let i = 0; i < text.length; i += step) {
    const piece = bytes(text.slice(i, i + step));
    consumed += decoder.feed(piece, 0, out);
    if (decoder.done) break;
  }
  return { out, consumed, decoder };
}

describe('Content-Length bodies', () => {
  test('exactly the length is delivered, across feeds; the rest is left to the caller', () => {
    const d = new BodyDecoder(Framing.Length, 10, 0);
    const out = new Collector();
    assert.equal(d.feed(bytes('HEADabcd'), 4, out), 4);
    assert.equal(d.done, false);
    assert.equal(d.endOfInput(out), false, 'a close before the length arrives does not end the body');
    assert.equal(d.feed(bytes('efghijGET /next'), 0, out), 6);
    assert.equal(out.body, 'abcdefghij');
    assert.equal(d.received, 10);
    assert.equal(d.done, true);
    assert.equal(out.ends, 1);
    assert.equal(out.trailers, null);
    assert.equal(d.endOfInput(out), true);
    assert.equal(out.ends, 1);
  });

  test('a feed with nothing past the start delivers nothing', () => {
    const d = new BodyDecoder(Framing.Length, 3, 0);
    const out = new Collector();
    assert.equal(d.feed(bytes('HEAD'), 4, out), 0);
    assert.equal(out.data.length, 0);
    assert.equal(out.ends, 0);
  });

  test('a length framing with nothing to read ends at once; no framing ends at the first feed', () => {
    const none = new BodyDecoder(Framing.None, 0, 0);
    const out = new Collector();
    assert.equal(none.feed(bytes('GET /next'), 0, out), 0);
    assert.equal(out.ends, 1);
    assert.equal(out.body, '');
    const other = new BodyDecoder(Framing.Chunked, 25, 1024);
    const o2 = new Collector();
    other.feed(bytes('0\r\n\r\n'), 0, o2);
    assert.equal(o2.body, '', 'a length given with chunked framing is not a length');
    assert.equal(o2.ends, 1);
  });
});

describe('bodies read until the connection closes', () => {
  test('every byte is body, and the close ends it', () => {
    const d = new BodyDecoder(Framing.UntilClose, -1, 0);
    const out = new Collector();
    assert.equal(d.feed(bytes('HTTP...abc'), 7, out), 3);
    assert.equal(d.feed(bytes('def'), 0, out), 3);
    assert.equal(d.feed(bytes('def'), 3, out), 0);
    assert.equal(out.data.length, 2);
    assert.equal(out.body, 'abcdef');
    assert.equal(d.received, 6);
    assert.equal(out.ends, 0);
    assert.equal(d.endOfInput(out), true);
    assert.equal(out.ends, 1);
    assert.equal(out.trailers, null);
  });
});

describe('chunked bodies', () => {
  const message = '5\r\nhello\r\n1A;name=value\r\n' + 'x'.repeat(26) + '\r\n0\r\nExpires: never\r\nX-Sum: 9\r\n\r\n';

  test('whole or byte by byte, the same data, the same trailers, the same bytes consumed', () => {
    for (const step of [message.length, 1, 2, 3, 7]) {
      const { out, consumed, decoder } = chunked(`${message}GET /next`, step);
      assert.equal(out.body, `hello${'x'.repeat(26)}`, `step ${step}`);
      assert.equal(decoder.received, 31);
      assert.equal(out.ends, 1);
      assert.ok(out.trailers);
      assert.deepEqual(fields(out.trailers), [['Expires', 'never'], ['X-Sum', '9']]);
      if (step === message.length) assert.equal(consumed, message.length);
    }
  });

  test('pipelined bytes after the last chunk are the caller\'s', () => {
    const d = new BodyDecoder(Framing.Chunked, -1, 1024);
    const out = new Collector();
    const text = '3\r\nabc\r\n0\r\n\r\nGET /next HTTP/1.1\r\n';
    assert.equal(d.feed(bytes(`XX${text}`), 2, out), text.indexOf('GET'));
    assert.equal(out.trailers, null);
    assert.equal(d.feed(bytes('more'), 0, out), 0, 'a finished body takes nothing more');
  });

  test('a trailer section split across reads is consumed whole, wherever the read starts', () => {
    const d = new BodyDecoder(Framing.Chunked, -1, 1024);
    const out = new Collector();
    assert.equal(d.feed(bytes('HEAD0\r\nA: b\r\n'), 4, out), 9);
    assert.equal(out.ends, 0);
    assert.equal(d.feed(bytes('C: d\r\n\r\nnext'), 0, out), 8);
    assert.ok(out.trailers);
    assert.deepEqual(fields(out.trailers), [['A', 'b'], ['C', 'd']]);
  });

  test('trailers written by the serializer read back byte for byte, latin1 values included', () => {
    const sent = headers(['X-Checksum', 'caf\xe9'], ['X-Empty', '']);
    const wire = lastChunkWithTrailers(sent);
    assert.equal(wire.length, '0\r\nx-checksum: caf\xe9\r\nx-empty: \r\n\r\n'.length);
    const d = new BodyDecoder(Framing.Chunked, -1, 1024);
    const out = new Collector();
    assert.equal(d.feed(wire, 0, out), wire.length);
    assert.ok(out.trailers);
    assert.deepEqual(fields(out.trailers), [['x-checksum', 'caf\xe9'], ['x-empty', '']]);
  });

  test('the blank line ending the trailer section may be a bare LF', () => {
    const { out, consumed } = chunked('3\r\nabc\r\n0\r\n\nnext');
    assert.equal(out.body, 'abc');
    assert.equal(out.trailers, null);
    assert.equal(consumed, 12);
  });

  test('hex sizes in either case, at every digit boundary', () => {
    for (const [size, n] of [['9', 9], ['a', 10], ['f', 15], ['A', 10], ['F', 15], ['10', 16], ['0a', 10]] as const) {
      const { out } = chunked(`${size}\r\n${'z'.repeat(n)}\r\n0\r\n\r\n`);
      assert.equal(out.body.length, n, size);
      assert.equal(out.ends, 1);
    }
    const { out } = chunked('00000000000000f\r\n' + 'q'.repeat(15) + '\r\n0\r\n\r\n');
    assert.equal(out.body.length, 15, 'fifteen digits are allowed');
  });

  test('extensions after ;, space or tab are skipped, up to 4096 bytes', () => {
    for (const ext of [';a=b', ' ;a', '\t;a', '; a = b', `;${'e'.repeat(4096)}`, ';\tq="x"\x80']) {
      const { out } = chunked(`3${ext}\r\nabc\r\n0${ext}\r\n\r\n`);
      assert.equal(out.body, 'abc', JSON.stringify(ext.slice(0, 10)));
      assert.equal(out.ends, 1);
    }
  });

  test('each framing fault is refused with its reason', () => {
    const cases: [string, string][] = [
      ['\r\n', 'invalid chunk size'],
      ['g\r\n', 'invalid chunk size'],
      ['G\r\n', 'invalid chunk size'],
      ['/\r\n', 'invalid chunk size'],
      [':\r\n', 'invalid chunk size'],
      ['@\r\n', 'invalid chunk size'],
      ['`\r\n', 'invalid chunk size'],
      ['3x\r\n', 'invalid chunk size'],
      ['-1\r\n', 'invalid chunk size'],
      ['1000000000000000\r\n', 'chunk size too large'],
      ['3;a\x01\r\nabc\r\n', 'invalid chunk extension'],
      ['3;a\x7f\r\nabc\r\n', 'invalid chunk extension'],
      [`3;${'e'.repeat(4097)}\r\nabc\r\n`, 'chunk extension too long'],
      ['3\rXabc\r\n', 'missing LF after chunk size'],
      ['3\nabc\r\n', 'invalid chunk size'],
      ['3\r\nabcX\r\n', 'missing CRLF after chunk data'],
      ['3\r\nabc\rX', 'missing CRLF after chunk data'],
      ['3\r\nabc\n', 'missing CRLF after chunk data'],
      ['3\r\nabcX\n', 'missing CRLF after chunk data'],
    ];
    for (const [text, reason] of cases) {
      for (const step of [text.length, 1]) {
        assert.throws(() => chunked(`${text}0\r\n\r\n`, step), (e: unknown) => e instanceof Http1ParseError && e.status === 400 && e.details === 'http1.invalid_chunk_size' && e.message === reason, `${JSON.stringify(text.slice(0, 20))} by ${step}`);
      }
    }
  });

  test('sizes and extensions are counted per chunk, not across chunks', () => {
    const ext = `;${'e'.repeat(3000)}`;
    const { out } = chunked(`00000000000001${ext}\r\na\r\n00000000000001${ext}\r\nb\r\n0\r\n\r\n`);
    assert.equal(out.body, 'ab');
  });

  test('trailers beyond the limit are 431; a malformed trailer is refused as a header would be', () => {
    refused(() => chunked(`0\r\nX-Long: ${'v'.repeat(100)}\r\n\r\n`, 5, 64), 431, 'http1.headers_too_large', 'headers size exceeds limit');
    refused(() => chunked('0\r\nBad Name: v\r\n\r\n'), 400, 'http1.codec_error', 'invalid header name');
  });
});

describe('request targets', () => {
  const line = (method: string, target: string, minor = 1) => ({ method, target, minor });

  test('origin-form takes the Host header as authority', () => {
    assert.deepEqual(parseTarget(line('GET', '/a?b'), headers(['Host', 'example.com:8080'])), { scheme: null, authority: 'example.com:8080', path: '/a?b', absoluteForm: false });
    assert.deepEqual(parseTarget(line('GET', '/', 0), headers()), { scheme: null, authority: '', path: '/', absoluteForm: false }, 'HTTP/1.0 may omit Host');
  });

  test('Host missing in HTTP/1.1, repeated, empty or holding what an authority cannot are refused', () => {
    refused(() => parseTarget(line('GET', '/'), headers()), 400, 'http1.missing_host_header', 'missing Host header');
    refused(() => parseTarget(line('GET', '/'), headers(['Host', 'a'], ['X', 'y'], ['host', 'b'])), 400, 'http1.codec_error', 'multiple Host headers');
    refused(() => parseTarget(line('GET', '/', 0), headers(['Host', ''])), 400, 'http1.missing_host_header', 'empty Host header');
    for (const bad of ['a b', 'a/b', 'a@b', 'a"b', 'é.example', 'a\\b', 'a{b']) {
      refused(() => parseTarget(line('GET', '/'), headers(['Host', bad])), 400, 'http.invalid_authority', `invalid character in authority ${JSON.stringify(bad)}`);
    }
    assert.equal(parseTarget(line('GET', '/'), headers(['Host', "[::1]:80-._~%20!$&'()*+,;=AZaz09"])).authority, "[::1]:80-._~%20!$&'()*+,;=AZaz09");
  });

  test('asterisk-form is for OPTIONS only', () => {
    assert.deepEqual(parseTarget(line('OPTIONS', '*'), headers(['Host', 'a'])), { scheme: null, authority: 'a', path: '*', absoluteForm: false });
    refused(() => parseTarget(line('GET', '*'), headers(['Host', 'a'])), 400, 'http1.invalid_url', 'asterisk-form is only valid for OPTIONS');
  });

  test('CONNECT takes host:port and nothing else', () => {
    assert.deepEqual(parseTarget(line('CONNECT', 'reviews:9080'), headers()), { scheme: null, authority: 'reviews:9080', path: 'reviews:9080', absoluteForm: false });
    assert.equal(parseTarget(line('CONNECT', '[::1]:65535'), headers()).authority, '[::1]:65535');
    for (const bad of ['reviews', 'reviews:', 'reviews:123456', 'reviews:80/x', 'u@reviews:80', '/reviews:80', 'reviews:8a']) {
      refused(() => parseTarget(line('CONNECT', bad), headers()), 400, 'http1.invalid_url', 'CONNECT target must be host:port');
    }
    refused(() => parseTarget(line('CONNECT', 're views:80'), headers()), 400, 'http.invalid_authority', /invalid character in authority/);
  });

  test('absolute-form: the scheme lowercased, the authority replaces Host, the path starts with / even when empty or a query', () => {
    const h = headers(['Host', 'ignored'], ['Accept', '*/*']);
    assert.deepEqual(parseTarget(line('GET', 'HTTP://Example.com:8080/a/b?c=d'), h), { scheme: 'http', authority: 'Example.com:8080', path: '/a/b?c=d', absoluteForm: true });
    assert.deepEqual(fields(h), [['Host', 'Example.com:8080'], ['Accept', '*/*']]);
    assert.equal(parseTarget(line('GET', 'https://a'), headers()).path, '/');
    assert.equal(parseTarget(line('GET', 'http://a?x=1'), headers()).path, '/?x=1');
    assert.equal(parseTarget(line('GET', 'web+s.v-1://a/'), headers()).scheme, 'web+s.v-1');
  });

  test('a target that is none of the forms, or an absolute one without a usable authority, is refused', () => {
    for (const bad of ['a/b', 'example', '://a/', '1http://a/', 'ht tp://a/', 'h_t://a/', 'http:/a']) {
      refused(() => parseTarget(line('GET', bad), headers(['Host', 'a'])), 400, 'http1.invalid_url', 'invalid request target');
    }
    for (const bad of ['http:///a', 'http://?q', 'http://user@a/']) {
      refused(() => parseTarget(line('GET', bad), headers()), 400, 'http1.invalid_url', 'invalid authority in request target');
    }
    refused(() => parseTarget(line('GET', 'http://a b/'), headers()), 400, 'http.invalid_authority', /invalid character in authority "a b"/);
  });
});

describe('request body framing', () => {
  test('chunked, Content-Length, or none', () => {
    assert.deepEqual(requestFraming(headers(['Transfer-Encoding', ' Chunked '])), { framing: Framing.Chunked, length: -1 });
    assert.deepEqual(requestFraming(headers(['Content-Length', '42'])), { framing: Framing.Length, length: 42 });
    assert.deepEqual(requestFraming(headers(['Content-Length', '999999999999999'])), { framing: Framing.Length, length: 999999999999999 });
    assert.deepEqual(requestFraming(headers(['Content-Length', '0'])), { framing: Framing.None, length: 0 });
    assert.deepEqual(requestFraming(headers(['Content-Length', '00'])), { framing: Framing.None, length: 0 });
    assert.deepEqual(requestFraming(headers()), { framing: Framing.None, length: 0 });
  });

  test('both framings, another coding, and lengths that are not one field of 1 to 15 digits are refused', () => {
    refused(() => requestFraming(headers(['Content-Length', '3'], ['Transfer-Encoding', 'chunked'])), 400, 'http1.content_length_and_chunked_not_allowed', 'both Content-Length and Transfer-Encoding');
    refused(() => requestFraming(headers(['Transfer-Encoding', 'gzip, chunked'])), 501, 'http1.invalid_transfer_encoding', 'unsupported transfer encoding gzip, chunked');
    refused(() => requestFraming(headers(['Content-Length', '5'], ['Content-Length', '5'])), 400, 'http1.content_length_not_allowed', 'multiple Content-Length headers');
    for (const bad of ['', '5, 5', '-1', '+5', '5a', '/', ':', ' 5', '1234567890123456']) {
      refused(() => requestFraming(headers(['Content-Length', bad])), 400, 'http1.content_length_not_allowed', 'invalid Content-Length');
    }
  });
});

describe('response body framing', () => {
  const cl = (v: string): HeaderList => headers(['Content-Length', v]);

  test('HEAD, 1xx, 204 and 304 have no body whatever the head says; 199 neither, 200 and 205 do', () => {
    for (const [method, status] of [['HEAD', 200], ['GET', 100], ['GET', 199], ['GET', 204], ['GET', 304]] as const) {
      assert.deepEqual(responseFraming(method, status, cl('10')), { framing: Framing.None, length: 0 }, `${method} ${status}`);
      assert.deepEqual(responseFraming(method, status, headers(['Transfer-Encoding', 'chunked'])), { framing: Framing.None, length: 0 }, `${method} ${status}`);
    }
    for (const status of [200, 205, 303]) assert.deepEqual(responseFraming('GET', status, cl('10')), { framing: Framing.Length, length: 10 }, String(status));
  });

  test('a bodiless response still may not carry a bad Content-Length', () => {
    refused(() => responseFraming('HEAD', 200, cl('ten')), 400, 'upstream.invalid_content_length', 'invalid Content-Length');
    refused(() => responseFraming('GET', 304, headers(['Content-Length', '1'], ['Content-Length', '1'])), 400, 'upstream.invalid_content_length', 'multiple Content-Length headers');
  });

  test('chunked last means chunked; any other coding, or no length, reads until close', () => {
    assert.deepEqual(responseFraming('GET', 200, headers(['Transfer-Encoding', 'gzip, Chunked '])), { framing: Framing.Chunked, length: -1 });
    assert.deepEqual(responseFraming('GET', 200, headers(['Transfer-Encoding', 'chunked'], ['Content-Length', '5'])), { framing: Framing.Chunked, length: -1 });
    assert.deepEqual(responseFraming('GET', 200, headers(['Transfer-Encoding', 'chunked, gzip'])), { framing: Framing.UntilClose, length: -1 });
    assert.deepEqual(responseFraming('GET', 200, headers(['Transfer-Encoding', 'gzip'])), { framing: Framing.UntilClose, length: -1 });
    assert.deepEqual(responseFraming('GET', 200, headers()), { framing: Framing.UntilClose, length: -1 });
    assert.deepEqual(responseFraming('GET', 200, cl('0')), { framing: Framing.None, length: 0 });
    refused(() => responseFraming('GET', 200, cl('5, 5')), 400, 'upstream.invalid_content_length', 'invalid Content-Length');
  });
});

describe('connection persistence', () => {
  test('HTTP/1.1 stays open unless close is listed; HTTP/1.0 closes unless keep-alive is', () => {
    assert.equal(wantsKeepAlive(1, headers()), true);
    assert.equal(wantsKeepAlive(1, headers(['Connection', 'Upgrade, Close'])), false);
    assert.equal(wantsKeepAlive(1, headers(['Connection', 'keep-alive'])), true);
    assert.equal(wantsKeepAlive(0, headers()), false);
    assert.equal(wantsKeepAlive(0, headers(['Connection', 'Keep-Alive'])), true);
    assert.equal(wantsKeepAlive(0, headers(['Connection', 'close'])), false);
  });
});
