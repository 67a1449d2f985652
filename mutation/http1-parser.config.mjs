import { moduleConfig } from './base.mjs';

// The HTTP/1.1 codec's reading side: the head parser, the body decoder and the framing rules
// (Content-Length, Transfer-Encoding, what a response may carry). The direct tests come first, then
// the codec tests through an in-process proxy, then the byte-exact request and response wire tests.
export default moduleConfig(
  'http1-parser',
  ['src/proxy/http1/head-parser.ts', 'src/proxy/http1/body-decoder.ts', 'src/proxy/http1/framing.ts'],
  [
    'dist/test/proxy/http1-serialize.test.js',
    'dist/test/proxy/http1-codec.test.js',
    'dist/test/proxy/wire/requests.test.js',
    'dist/test/proxy/wire/responses.test.js',
  ],
);
