/**
 * Plain HTTP calls and watch streams against an API server, for tests that check what it answers
 * byte for byte (Skiff's own client is under test elsewhere and is not used to test the fake).
 */
import http from 'node:http';

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

export function call(base: string, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(new URL(path, base), { method, headers: text === undefined ? {} : { 'content-type': contentType, 'content-length': Buffer.byteLength(text) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(raw) as Record<string, unknown> });
        } catch {
          resolve({ status: res.statusCode ?? 0, body: { text: raw } });
        }
      });
    });
    req.on('error', reject);
    req.end(text);
  });
}

export interface WatchEvent {
  type: string;
  object: { metadata?: { name?: string; resourceVersion?: string; annotations?: Record<string, string> }; code?: number; reason?: string; [k: string]: unknown };
}

/** An open watch stream: every event received, in order, and how it ended. */
export class WatchStream {
  readonly events: WatchEvent[] = [];
  /** Resolves when the stream ends: 'end' for a clean finish, 'aborted' when cut. */
  readonly ended: Promise<'end' | 'aborted'>;
  status = 0;
  private req: http.ClientRequest | undefined;
  private waiters: Array<() => void> = [];

  constructor(base: string, path: string) {
    this.ended = new Promise((resolve, reject) => {
      this.req = http.get(new URL(path, base), (res) => {
        this.status = res.statusCode ?? 0;
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          buf += d;
          let i;
          while ((i = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            if (line.trim() !== '') this.events.push(JSON.parse(line) as WatchEvent);
          }
          for (const w of this.waiters.splice(0)) w();
        });
        res.on('end', () => resolve('end'));
        res.on('aborted', () => resolve('aborted'));
        res.on('error', () => resolve('aborted'));
      });
      this.req.on('error', (err) => (this.status === 0 ? reject(err) : resolve('aborted')));
    });
    void this.ended.then(() => {
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Waits until an event satisfies `pred` (failing after `guardMs`, a guard against a hang, not a timing claim). */
  async until(pred: (e: WatchEvent) => boolean, guardMs = 10_000): Promise<WatchEvent> {
    const deadline = Date.now() + guardMs;
    for (;;) {
      const hit = this.events.find(pred);
      if (hit !== undefined) return hit;
      if (Date.now() > deadline) throw new Error(`no matching watch event; got ${JSON.stringify(this.events.map((e) => `${e.type}:${e.object.metadata?.name ?? ''}`))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.req?.destroy();
  }
}
