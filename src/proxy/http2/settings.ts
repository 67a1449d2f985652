/**
 * HTTP/2 settings both sides of the proxy use: flow-control windows sized so a paused stream
 * holds at most a bounded amount of body (backpressure reaches the sender through withheld
 * WINDOW_UPDATEs), and node:http2's per-session memory cap.
 */

/** Per-stream receive window: how much body a paused stream may hold. */
export const STREAM_WINDOW_BYTES = 1024 * 1024;
/** Per-connection receive window, across all streams. */
export const CONNECTION_WINDOW_BYTES = 16 * 1024 * 1024;
/** node:http2's cap on a session's buffered memory, in MB (ENHANCE_YOUR_CALM beyond it). */
export const SESSION_MEMORY_MB = 64;
