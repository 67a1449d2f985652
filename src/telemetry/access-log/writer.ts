/**
 * Buffered line output for access logs: lines collect in memory and go to the stream in one write
 * per event-loop turn; while the stream applies backpressure lines keep collecting up to a bound,
 * beyond which they are dropped and counted. The request path never waits on the log.
 */
import type { Writable } from 'node:stream';

export class LineWriter {
  /** Lines dropped because the buffer was full. */
  dropped = 0;
  private chunks: string[] = [];
  private bytes = 0;
  private scheduled = false;
  private blocked = false;
  private closed = false;

  constructor(
    private readonly out: Writable,
    /** Characters buffered at most while the stream is slow. Default 4 Mi. */
    private readonly maxBuffered = 4 * 1024 * 1024,
  ) {}

  write(line: string): void {
    if (this.closed) return;
    if (this.bytes + line.length > this.maxBuffered) {
      this.dropped++;
      return;
    }
    this.chunks.push(line);
    this.bytes += line.length;
    if (!this.scheduled && !this.blocked) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Hands everything buffered to the stream (unless it is applying backpressure). */
  flush(): void {
    this.scheduled = false;
    if (this.blocked || this.chunks.length === 0 || this.out.destroyed) return;
    const data = this.chunks.length === 1 ? this.chunks[0] : this.chunks.join('');
    this.chunks = [];
    this.bytes = 0;
    if (!this.out.write(data)) {
      this.blocked = true;
      this.out.once('drain', () => {
        this.blocked = false;
        this.flush();
      });
    }
  }

  /** Writes what is left; later lines are ignored. */
  close(): void {
    this.blocked = false;
    this.flush();
    this.closed = true;
  }
}
