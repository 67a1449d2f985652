import { moduleConfig } from './base.mjs';

// The HTTP/1.1 codec's reading side: the head parser, the body decoder and the framing rules
// (Content-Length, Transfer-Encoding, what a response may carry). Their direct tests on bytes reach
// every line, so the codec and wire tests through a proxy (seconds per file, run for every mutant
// left alive) are not part of the run: `http1-parse.test` first, then the serializer's file, which
// also checks the request-line check and the header count limit.
export default moduleConfig(
  'http1-parser',
  ['src/proxy/http1/head-parser.ts', 'src/proxy/http1/body-decoder.ts', 'src/proxy/http1/framing.ts'],
  ['dist/test/proxy/http1-parse.test.js', 'dist/test/proxy/http1-serialize.test.js'],
);
