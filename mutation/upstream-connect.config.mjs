import { moduleConfig } from './base.mjs';

// The one connect path to an upstream host: TCP and TLS, connect timeouts, failures classified.
export default moduleConfig(
  'upstream-connect',
  ['src/proxy/upstream/connect.ts'],
  ['dist/test/proxy/upstream/connect.test.js'],
);
