/**
 * Where the Kubernetes API server is and how to authenticate to it: a kubeconfig file's current
 * context (server, CA, bearer token or token file, client certificate and key, each inline as
 * `*-data` or as a file relative to the kubeconfig), or, inside a pod, the in-cluster config (the
 * `KUBERNETES_SERVICE_HOST`/`_PORT` variables and the service account's mounted token and CA).
 * Only what Skiff's client uses is read; exec and auth-provider plugins are refused by name.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';

export interface KubeConnection {
  /** `https://host:port` or `http://host:port` (no trailing slash). */
  server: string;
  /** CA certificates (PEM) to trust instead of the system's. */
  ca?: string;
  insecureSkipTlsVerify?: boolean;
  /** Client certificate and key (PEM). */
  cert?: string;
  key?: string;
  /** The bearer token now: read again on every request when it comes from a file (projected tokens rotate). */
  token?: () => string;
  /** Where it came from, for messages: `kubeconfig <path> context <name>` or `in-cluster`. */
  origin: string;
}

export class KubeconfigError extends Error {
  override name = 'KubeconfigError';
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

interface Named<T> {
  name: string;
  [k: string]: unknown;
  cluster?: T;
  user?: T;
  context?: T;
}

interface Cluster {
  server?: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
}

interface User {
  token?: string;
  tokenFile?: string;
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  exec?: unknown;
  'auth-provider'?: unknown;
  username?: string;
}

/** Reads the current context (or `context`) of the kubeconfig at `path`. */
export function loadKubeconfig(path: string, context?: string): KubeConnection {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new KubeconfigError(`cannot read kubeconfig ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new KubeconfigError(`kubeconfig ${path} is not YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  const cfg = (doc ?? {}) as { 'current-context'?: string; contexts?: Array<Named<{ cluster?: string; user?: string }>>; clusters?: Array<Named<Cluster>>; users?: Array<Named<User>> };
  const ctxName = context ?? cfg['current-context'];
  if (ctxName === undefined || ctxName === '') throw new KubeconfigError(`kubeconfig ${path} has no current-context; pass a context`);
  const ctx = cfg.contexts?.find((c) => c.name === ctxName)?.context;
  if (ctx === undefined) throw new KubeconfigError(`kubeconfig ${path}: context "${ctxName}" not found (contexts: ${(cfg.contexts ?? []).map((c) => c.name).join(', ') || 'none'})`);
  const cluster = cfg.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  if (cluster?.server === undefined) throw new KubeconfigError(`kubeconfig ${path}: context "${ctxName}" names cluster "${String(ctx.cluster)}", which has no server`);
  const user: User = (ctx.user !== undefined ? cfg.users?.find((u) => u.name === ctx.user)?.user : undefined) ?? {};
  const where = `kubeconfig ${path} user "${String(ctx.user)}"`;
  if (user.exec !== undefined || user['auth-provider'] !== undefined) throw new KubeconfigError(`${where}: exec and auth-provider credentials are not supported; use a token, a token file or a client certificate`);
  const base = dirname(path);
  const file = (p: string): string => readFileSync(isAbsolute(p) ? p : join(base, p), 'utf8');
  const data = (b64: string): string => Buffer.from(b64, 'base64').toString('utf8');
  const conn: KubeConnection = { server: cluster.server.replace(/\/+$/, ''), origin: `kubeconfig ${path} context ${ctxName}` };
  const ca = cluster['certificate-authority-data'] !== undefined ? data(cluster['certificate-authority-data']) : cluster['certificate-authority'] !== undefined ? file(cluster['certificate-authority']) : undefined;
  if (ca !== undefined) conn.ca = ca;
  if (cluster['insecure-skip-tls-verify'] === true) conn.insecureSkipTlsVerify = true;
  const cert = user['client-certificate-data'] !== undefined ? data(user['client-certificate-data']) : user['client-certificate'] !== undefined ? file(user['client-certificate']) : undefined;
  const key = user['client-key-data'] !== undefined ? data(user['client-key-data']) : user['client-key'] !== undefined ? file(user['client-key']) : undefined;
  if ((cert === undefined) !== (key === undefined)) throw new KubeconfigError(`${where}: a client certificate needs its key, and a key its certificate`);
  if (cert !== undefined && key !== undefined) {
    conn.cert = cert;
    conn.key = key;
  }
  if (user.token !== undefined) {
    const token = user.token;
    conn.token = () => token;
  } else if (user.tokenFile !== undefined) {
    const tokenFile = isAbsolute(user.tokenFile) ? user.tokenFile : join(base, user.tokenFile);
    conn.token = () => readFileSync(tokenFile, 'utf8').trim();
  }
  return conn;
}

/** True inside a pod whose service account token is mounted. */
export function inCluster(env: NodeJS.ProcessEnv = process.env, saDir = SA_DIR): boolean {
  return env.KUBERNETES_SERVICE_HOST !== undefined && existsSync(join(saDir, 'token'));
}

/** The in-cluster config, as client-go's `rest.InClusterConfig`. */
export function inClusterConnection(env: NodeJS.ProcessEnv = process.env, saDir = SA_DIR): KubeConnection {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (host === undefined || port === undefined) throw new KubeconfigError('not in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set; pass --kubeconfig');
  const tokenFile = join(saDir, 'token');
  if (!existsSync(tokenFile)) throw new KubeconfigError(`not in a cluster: no service account token at ${tokenFile}; pass --kubeconfig`);
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return { server: `https://${hostPart}:${port}`, ca: readFileSync(join(saDir, 'ca.crt'), 'utf8'), token: () => readFileSync(tokenFile, 'utf8').trim(), origin: 'in-cluster' };
}

/** `--kubeconfig` when given, else in-cluster when there, else `$KUBECONFIG` or `~/.kube/config`. */
export function resolveConnection(kubeconfig: string | undefined, env: NodeJS.ProcessEnv = process.env, context?: string): KubeConnection {
  if (kubeconfig !== undefined) return loadKubeconfig(kubeconfig, context);
  if (inCluster(env)) return inClusterConnection(env);
  const fromEnv = env.KUBECONFIG?.split(':').find((p) => p !== '');
  const path = fromEnv ?? join(env.HOME ?? '', '.kube', 'config');
  if (!existsSync(path)) throw new KubeconfigError(`no kubeconfig: not in a cluster, and ${path} does not exist; pass --kubeconfig`);
  return loadKubeconfig(path, context);
}
