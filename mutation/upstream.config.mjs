import { group } from './base.mjs';

// The upstream client and its pools: the one connect path, the HTTP/1.1 client and pool, the HTTP/2
// session pool.
export default group(
  'upstream',
  ['src/proxy/upstream/connect.ts', 'src/proxy/upstream/http1-client.ts', 'src/proxy/upstream/pool-http1.ts', 'src/proxy/upstream/pool-http2.ts'],
  [
    'dist/test/proxy/upstream/connect.test.js',
    'dist/test/proxy/upstream/limits.test.js',
    'dist/test/proxy/upstream/cluster.test.js',
    'dist/test/proxy/upstream-responses.test.js',
    'dist/test/proxy/upstream-tls.test.js',
    'dist/test/proxy/http2/client-session.test.js',
    'dist/test/proxy/resilience.test.js',
    'dist/test/proxy/http2.test.js',
  ],
);
