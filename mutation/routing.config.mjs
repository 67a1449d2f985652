import { group } from './base.mjs';

// The router and route matching: route compilation, virtual-host domains, request matches, string
// matchers, rewrites, retry policy and the selected route.
export default group(
  'routing',
  ['src/proxy/http/router.ts', 'src/proxy/http/route/*.ts', '!src/proxy/http/route/index.ts', 'src/proxy/match/*.ts'],
  [
    'dist/test/proxy/route/destinations.test.js',
    'dist/test/proxy/route/errors.test.js',
    'dist/test/proxy/route/matchers.test.js',
    'dist/test/proxy/route/retry.test.js',
    'dist/test/proxy/route/rewrite-redirect.test.js',
    'dist/test/proxy/route/select.test.js',
    'dist/test/proxy/http-routing.test.js',
    'dist/test/proxy/route-actions.test.js',
    'dist/test/proxy/request-phases.test.js',
  ],
);
