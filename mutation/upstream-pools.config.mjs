import { moduleConfig } from './base.mjs';

// The upstream HTTP/1.1 client and pool and the HTTP/2 session pool: first their direct tests
// against real loopback HTTP/1.1 and node:http2 servers, then the in-process proxy tests that reach
// them through a proxy.
export default moduleConfig(
  'upstream-pools',
  ['src/proxy/upstream/http1-client.ts', 'src/proxy/upstream/pool-http1.ts', 'src/proxy/upstream/pool-http2.ts'],
  [
    'dist/test/proxy/upstream/http1-client.test.js',
    'dist/test/proxy/upstream/pool-http1.test.js',
    'dist/test/proxy/upstream/pool-http2.test.js',
    'dist/test/proxy/upstream-responses.test.js',
    'dist/test/proxy/http2/client-session.test.js',
    'dist/test/proxy/http1-codec.test.js',
    'dist/test/proxy/resilience.test.js',
  ],
);
