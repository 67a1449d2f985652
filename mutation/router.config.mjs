import { moduleConfig } from './base.mjs';

// The router filter: for each try it picks a host, enforces the circuit breaker, the route and
// per-try timeouts and the retry policy, and turns upstream failures into Envoy's local replies and
// flags. Its logic runs only inside a proxy, so its tests are in-process proxy tests: the router's
// own file first (which failures are retried, the retry budget, timeouts and resets with their
// details and counters), then route actions and routing (quick, and every request goes through the
// router), resilience, gRPC (retries on grpc-status) and the tunnels (the WebSocket upgrade).
export default moduleConfig(
  'router',
  ['src/proxy/http/router.ts'],
  [
    'dist/test/proxy/router.test.js',
    'dist/test/proxy/route-actions.test.js',
    'dist/test/proxy/http-routing.test.js',
    'dist/test/proxy/resilience.test.js',
    'dist/test/proxy/grpc.test.js',
    'dist/test/proxy/tunnels.test.js',
  ],
);
