/**
 * How long a config change takes to reach the proxies, seen from skiffd's API as a user could
 * see it: polls the store's resource version and every proxy's acknowledged version, and notes
 * when the change landed in the store and when the last proxy acknowledged a new snapshot.
 * A figure to report, not something to assert on.
 */
import http from 'node:http';

interface ProxyState {
  id: string;
  ackedVersion: string | null;
}

export interface Propagation {
  /** When the store's resource version moved (first poll that saw it). */
  changedAt?: number;
  /** When the last proxy whose snapshot changed acknowledged it (first poll that saw it). */
  lastAckAt?: number;
  /** Proxies that acknowledged a new snapshot. */
  proxies: string[];
}

export interface PropagationWatch {
  /** Stops polling; call once the change has settled. */
  stop(): Promise<Propagation>;
}

/** skiffd's API and the token it requires (a `Mesh` is one). */
export interface ApiTarget {
  apiUrl: string;
  apiHeaders(): Record<string, string>;
}

/** Starts polling skiffd's API every `everyMs`; start it before making the change. */
export async function watchPropagation(api: ApiTarget, everyMs = 10): Promise<PropagationWatch> {
  const [baseVersion, baseAcks] = await Promise.all([resourceVersion(api), ackedVersions(api)]);
  const result: Propagation = { proxies: [] };
  const seen = new Map(baseAcks);
  let running = true;
  const loop = (async () => {
    while (running) {
      const [version, acks] = await Promise.all([resourceVersion(api), ackedVersions(api)]);
      const now = Date.now();
      if (result.changedAt === undefined && version !== baseVersion) result.changedAt = now;
      for (const [id, acked] of acks) {
        if (acked === null || seen.get(id) === acked) continue;
        seen.set(id, acked);
        if (!result.proxies.includes(id)) result.proxies.push(id);
        result.lastAckAt = now;
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return result;
    },
  };
}

/** `changedAt → lastAckAt` in ms, or undefined when either was not seen. */
export function propagationMs(p: Propagation): number | undefined {
  return p.changedAt !== undefined && p.lastAckAt !== undefined ? p.lastAckAt - p.changedAt : undefined;
}

async function resourceVersion(api: ApiTarget): Promise<unknown> {
  return ((await getJson(api, '/api/v1/status')) as { resourceVersion: unknown }).resourceVersion;
}

async function ackedVersions(api: ApiTarget): Promise<Map<string, string | null>> {
  const report = (await getJson(api, '/api/v1/proxies')) as { proxies: ProxyState[] };
  return new Map(report.proxies.map((p) => [p.id, p.ackedVersion]));
}

function getJson(api: ApiTarget, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    http
      .get(`${api.apiUrl}${path}`, { agent: false, headers: api.apiHeaders() }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => {
          try {
            resolve(JSON.parse(body));
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
      })
      .on('error', reject);
  });
}
