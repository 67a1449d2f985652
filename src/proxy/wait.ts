/**
 * `skiff proxy wait`, as `pilot-agent wait`: polls the proxy's readiness (`/healthz/ready` on
 * the health port 15021) until it answers 200 or the time is up. Injection runs it as the proxy
 * container's postStart hook when the sidecar is a regular container and
 * `holdApplicationUntilProxyStarts` is on: the kubelet starts the next container (the app) only
 * once the hook returns, so the app never runs before its proxy is ready.
 */
import http from 'node:http';

export interface ProxyWaitOptions {
  /** Default `http://localhost:15021/healthz/ready`. */
  url: string;
  timeoutMs: number;
  /** Between two polls. */
  periodMs: number;
  /** For each poll. */
  requestTimeoutMs: number;
}


/** One poll: undefined when ready, else why not. */
function poll(url: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? undefined : `HTTP status code ${res.statusCode ?? 'none'}`);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/** Resolves with null once the proxy is ready, or with the last reason it was not when time ran out. */
export async function waitForProxyReady(opts: ProxyWaitOptions): Promise<string | null> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = 'not polled yet';
  for (;;) {
    const why = await poll(opts.url, Math.max(1, Math.min(opts.requestTimeoutMs, deadline - Date.now())));
    if (why === undefined) return null;
    last = why;
    if (Date.now() + opts.periodMs >= deadline) return last;
    await new Promise((r) => setTimeout(r, opts.periodMs));
  }
}
