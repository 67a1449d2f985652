/**
 * Buffered line output for access logs: lines collect in memory and go to the stream in one write
 * once 16 KB have gathered or 50 ms after the first line waiting, whichever comes first (a write
 * per event-loop turn cost a system call every few requests under load); while the stream applies
 * backpressure lines keep collecting up to a bound, beyond which they are dropped and counted.
 * The request path never waits on the log.
 */
import type { Writable } from 'node:stream';

/** Buffered characters that make a write at once. */
const FLUSH_CHARS = 16 * 1024;
/** Longest a line waits for company before it is written. */
const FLUSH_DELAY_MS = 50;

export class LineWriter {
  /** Lines dropped because the buffer was full. */
  dropped = 0;
  private chunks: string[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | null = null;
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
    if (this.blocked) return;
    if (this.bytes >= FLUSH_CHARS) this.flush();
    else if (this.timer === null) {
      this.timer = setTimeout(this.onTimer, FLUSH_DELAY_MS);
      this.timer.unref();
    }
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    this.flush();
  };

  /** Hands everything buffered to the stream (unless it is applying backpressure). */
  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
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
