import { moduleConfig } from './base.mjs';

// The router filter: for each try it picks a host, enforces the circuit breaker, the route and
// per-try timeouts and the retry policy, and turns upstream failures into Envoy's local replies and
// flags. Its logic runs only inside a proxy, so its tests are in-process proxy tests: route actions
// and routing first (quick, and every request goes through the router), then resilience, the only
// file that reaches retries, timeouts and the retry budget.
export default moduleConfig(
  'router',
  ['src/proxy/http/router.ts'],
  ['dist/test/proxy/route-actions.test.js', 'dist/test/proxy/http-routing.test.js', 'dist/test/proxy/resilience.test.js'],
);
