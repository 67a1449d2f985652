import { moduleConfig } from './base.mjs';

// The HTTP/1.1 serializer (heads byte for byte, reason phrases, the cached date) and the message
// writer (heads held until the first body bytes, chunked framing in one buffer), each with direct
// tests: the serializer's on strings and buffers, the writer's on a real loopback socket (the
// bytes the peer reads, and the writes that carry them).
export default moduleConfig(
  'http1-serializer',
  ['src/proxy/http1/serialize.ts', 'src/proxy/http1/message-writer.ts'],
  [
    'dist/test/proxy/http1-serialize.test.js',
    'dist/test/proxy/http1-message-writer.test.js',
    'dist/test/proxy/http1-message-writer-writes.test.js',
  ],
);
