/** The push server's public surface: skiffd creates the server, mounts the status handler, and benchmarks reuse the simulated client. */
export { PushServer, createPushServer } from './server.js';
export { PROXY_STATUS_PATH, proxyStatusHandler, proxyStatusReport } from './status-handler.js';
export type { ProxyStatusReport, StatusSource } from './status-handler.js';
export { STREAM_PATH } from '../../snapshot/index.js';
export type { AckMessage, HelloMessage, NackError, NackMessage, ServerMessage, SnapshotMessage } from '../../snapshot/index.js';
export type { ConnectedProxy, NackRecord, ProxyStatus, PushCounters, PushLogger, PushServerEvents, PushServerOptions, SyncState } from './types.js';
export { SimProxy, connectSimFleet, waitForFleet } from './sim-client.js';
export type { SimFleetOptions, SimProxyOptions, SimSnapshot } from './sim-client.js';
