import { moduleConfig } from './base.mjs';

// Route matching: route compilation, virtual-host domains, request matches, string, header and query
// matchers, rewrites and redirects, the retry policy and the selected route. All in-process logic
// with direct unit tests under test/proxy/route/.
export default moduleConfig(
  'route-match',
  ['src/proxy/http/route/*.ts', '!src/proxy/http/route/index.ts', 'src/proxy/match/*.ts'],
  [
    'dist/test/proxy/route/edges.test.js',
    'dist/test/proxy/route/matchers.test.js',
    'dist/test/proxy/route/select.test.js',
    'dist/test/proxy/route/destinations.test.js',
    'dist/test/proxy/route/rewrite-redirect.test.js',
    'dist/test/proxy/route/retry.test.js',
    'dist/test/proxy/route/errors.test.js',
  ],
);
