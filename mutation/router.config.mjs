import { moduleConfig } from './base.mjs';

// The router filter: it takes the matched route to a local reply, a redirect, a direct response or
// an upstream cluster with its rewrites and header mutations. Its logic runs only inside a proxy,
// so its tests are the in-process proxy tests of routing and route actions.
export default moduleConfig(
  'router',
  ['src/proxy/http/router.ts'],
  ['dist/test/proxy/route-actions.test.js', 'dist/test/proxy/http-routing.test.js'],
);
