/**
 * Resetting an HTTP/2 stream so the peer sees a reset and not a complete message: node:http2's
 * `close(code)` ends the writable side first and, when no write is in flight, flushes END_STREAM
 * ahead of the RST_STREAM, which would make a truncated body look whole.
 */
import type { Http2Stream } from 'node:http2';

const EMPTY = Buffer.alloc(0);

/** Sends RST_STREAM `code` without a preceding END_STREAM. */
export function resetStream(stream: Http2Stream, code: number): void {
  if (stream.closed || stream.destroyed) return;
  // An (empty) write in flight holds back the writable side's END_STREAM until the RST has gone.
  if (!stream.writableEnded) stream.write(EMPTY);
  stream.close(code);
}
