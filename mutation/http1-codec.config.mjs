import { group } from './base.mjs';

// The HTTP/1.1 codec (head parser, body decoder, framing rules) and serializer.
export default group(
  'http1-codec',
  ['src/proxy/http1/head-parser.ts', 'src/proxy/http1/body-decoder.ts', 'src/proxy/http1/framing.ts', 'src/proxy/http1/serialize.ts', 'src/proxy/http1/message-writer.ts'],
  [
    'dist/test/proxy/http1-codec.test.js',
    'dist/test/proxy/http1-serialize.test.js',
    'dist/test/proxy/wire/requests.test.js',
    'dist/test/proxy/wire/responses.test.js',
    'dist/test/proxy/corpus.test.js',
    'dist/test/proxy/upstream-responses.test.js',
  ],
);
