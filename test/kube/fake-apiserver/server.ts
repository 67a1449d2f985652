/**
 * A fake kube-apiserver on node:http, faithful where Skiff's client, informers and webhooks and
 * real kubectl 1.32 depend on it (no real API server can run on these machines):
 *
 * - discovery (`/version`, `/api`, `/apis`, `/api/v1`, `/apis/<group>/<version>`), built-in types
 *   and the types of every CustomResourceDefinition created on it;
 * - get, list (label and field selectors, `limit`/`continue` paging), create (`generateName`,
 *   409 AlreadyExists, 404 for a missing namespace), update (409 Conflict on a stale
 *   resourceVersion), the status subresource, patch (merge, strategic merge — refused with 415 for
 *   custom resources, as the real server does —, JSON patch, and server-side apply), delete
 *   (a namespace takes its objects with it);
 * - watch: one cluster-wide resourceVersion; a watch from version n replays every later change in
 *   order, then follows; from before the kept history it gets one `ERROR` event with a `410
 *   Expired` Status and the stream ends (as does a list with `resourceVersionMatch=Exact` there);
 *   `BOOKMARK`s with `allowWatchBookmarks`; the stream ends cleanly at `timeoutSeconds`; watch-list
 *   (`sendInitialEvents=true`: the state as ADDED events, then a bookmark annotated
 *   `k8s.io/initial-events-end`);
 * - `/openapi/v3` and its group-version documents, as far as kubectl's apply reads them (it then
 *   leaves field validation to the server); the `scale` subresource (`kubectl scale`);
 * - what the API server's defaulting and controllers do that the mesh reads: ClusterIPs
 *   allocated to Services, Service port defaults, `kubernetes.io/metadata.name` on Namespaces, a
 *   `default` ServiceAccount per namespace, `generation`;
 * - dynamic admission (`admission.ts`) on create and update; TokenReview for the tokens it
 *   issued (`issueToken`);
 * - faults a test injects: drop every watch stream, compact the history now, stall the open
 *   streams (silent, not even ended by their timeout, until resumed), restart (the listening socket closes and opens again on the same
 *   port with the same objects; the watch history is lost, as a restarted server's watch cache).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AdmissionError, admit } from './admission.js';
import type { ServiceResolver } from './admission.js';
import { apiGroupList, apiResourceList, apiVersions, BUILTIN_TYPES, groupVersion, openApiDocument, openApiRoot, typesOfCrd } from './catalog.js';
import type { ResourceType } from './catalog.js';
import { jsonPatch, mergePatch, PatchError, strategicMergePatch } from './patch.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector, SelectorError } from './selectors.js';
import type { FieldRequirement, Requirement } from './selectors.js';
import { Store } from './store.js';
import type { Obj, StoredEvent } from './store.js';

export interface FakeApiServerOptions {
  /** Changes kept for watches (older ones are compacted away). Default 1000. */
  historyLimit?: number;
  /** How often a watch with `allowWatchBookmarks=true` gets a BOOKMARK. Default 1 s. */
  bookmarkIntervalMs?: number;
  /** CustomResourceDefinitions present from the start. */
  crds?: readonly object[];
  /** Where webhook Services are reached. Default: nowhere (a service-based webhook fails). */
  resolveService?: ServiceResolver;
  /** The Kubernetes minor version `/version` reports (1.x). Default 32. */
  minorVersion?: number;
}

export interface RecordedRequest {
  method: string;
  url: string;
  contentType: string | undefined;
  accept: string | undefined;
}

class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: object,
  ) {
    super(message);
  }
}

interface ParsedPath {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

interface OpenWatch {
  res: http.ServerResponse;
  /** `group/resource` of what it watches. */
  typeKey: string;
  stalled: boolean;
  queue: string[];
  endWhenResumed?: boolean;
}

/** Kinds with a `scale` subresource. */
const SCALABLE = new Set(['Deployment', 'ReplicaSet', 'StatefulSet']);

const TYPE_KEY = (rt: Pick<ResourceType, 'group' | 'resource'>): string => `${rt.group}/${rt.resource}`;

export class FakeApiServer {
  readonly store: Store;
  /** Every request received, in order (tests check what a client sent). */
  readonly requests: RecordedRequest[] = [];
  private readonly minorVersion: number;
  private readonly server: http.Server;
  private readonly watches = new Set<OpenWatch>();
  private readonly tokens = new Map<string, { namespace: string; serviceAccount: string; audiences: string[]; uid: string }>();
  private readonly bookmarkIntervalMs: number;
  private resolveService: ServiceResolver;
  private nextClusterIp = 10;
  private port = 0;

  constructor(opts: FakeApiServerOptions = {}) {
    this.store = new Store(opts.historyLimit ?? 1000);
    this.bookmarkIntervalMs = opts.bookmarkIntervalMs ?? 1000;
    this.resolveService = opts.resolveService ?? (() => undefined);
    this.minorVersion = opts.minorVersion ?? 32;
    this.server = http.createServer((req, res) => void this.handle(req, res));
    for (const ns of ['default', 'kube-system', 'kube-public']) this.seedNamespace(ns);
    this.store.put('/services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: { type: 'ClusterIP', clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1'], ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }] },
    });
    for (const crd of opts.crds ?? []) this.store.put(TYPE_KEY({ group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' }), structuredClone(crd) as Obj);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  setServiceResolver(resolve: ServiceResolver): void {
    this.resolveService = resolve;
  }

  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.removeListener('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this.url;
  }

  async stop(): Promise<void> {
    for (const w of this.watches) w.res.destroy();
    this.watches.clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  // ---- faults ----

  /** Cuts every open watch stream (the client sees the connection end without a clean finish). */
  dropWatches(): number {
    const n = this.watches.size;
    for (const w of this.watches) w.res.destroy();
    this.watches.clear();
    return n;
  }

  /** Compacts the history now: a watch from any earlier version gets 410 Gone. */
  compact(): void {
    this.store.compact();
  }

  /** The open watch streams stop delivering (events queue up) while their connections stay open. */
  stallWatches(): number {
    for (const w of this.watches) w.stalled = true;
    return this.watches.size;
  }

  /** Delivers what stalled streams queued and lets them flow again. */
  resumeWatches(): void {
    for (const w of this.watches) {
      w.stalled = false;
      for (const line of w.queue.splice(0)) w.res.write(line);
      if (w.endWhenResumed) w.res.end();
    }
  }

  get openWatches(): number {
    return this.watches.size;
  }

  /** Open watch streams on one resource (`pods`, or `networking.istio.io/virtualservices`). */
  openWatchesOn(resource: string): number {
    const key = resource.includes('/') ? resource : `/${resource}`;
    let n = 0;
    for (const w of this.watches) if (w.typeKey === key) n++;
    return n;
  }

  /** Stops listening (every connection closes) and listens again on the same port; the watch history is gone. */
  async restart(): Promise<void> {
    await this.stop();
    this.store.compact();
    await this.start(this.port);
  }

  /** A service-account token as the kubelet projects it; TokenReview knows it. */
  issueToken(namespace: string, serviceAccount: string, audiences: string[] = ['https://kubernetes.default.svc.cluster.local']): string {
    const token = `fake.${randomBytes(24).toString('base64url')}`;
    this.tokens.set(token, { namespace, serviceAccount, audiences, uid: randomUUID() });
    return token;
  }

  // ---- direct object access for tests and controllers (through defaulting and admission) ----

  async create(obj: object): Promise<Obj> {
    const o = structuredClone(obj) as Obj;
    const rt = this.typeOf(o);
    return this.createObject(rt, o.metadata.namespace, o);
  }

  get(apiVersion: string, kind: string, namespace: string | undefined, name: string): Obj | undefined {
    const rt = this.allTypes().find((t) => groupVersion(t) === apiVersion && t.kind === kind);
    return rt === undefined ? undefined : this.store.get(TYPE_KEY(rt), rt.namespaced ? namespace : undefined, name);
  }

  list(apiVersion: string, kind: string, namespace?: string): Obj[] {
    const rt = this.allTypes().find((t) => groupVersion(t) === apiVersion && t.kind === kind);
    return rt === undefined ? [] : this.store.list(TYPE_KEY(rt), namespace);
  }

  /** Replaces an object as it is (no admission): controllers and the test's kubelet writing status. */
  put(obj: object): Obj {
    const o = structuredClone(obj) as Obj;
    const rt = this.typeOf(o);
    return this.store.put(TYPE_KEY(rt), o);
  }

  remove(apiVersion: string, kind: string, namespace: string | undefined, name: string): Obj | undefined {
    const rt = this.allTypes().find((t) => groupVersion(t) === apiVersion && t.kind === kind);
    return rt === undefined ? undefined : this.deleteObject(rt, namespace, name);
  }

  private typeOf(o: Obj): ResourceType {
    const rt = this.allTypes().find((t) => groupVersion(t) === o.apiVersion && t.kind === o.kind);
    if (rt === undefined) throw new Error(`the server does not serve ${String(o.kind)} at ${String(o.apiVersion)}`);
    return rt;
  }

  private seedNamespace(name: string): void {
    this.store.put('/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
    this.store.put('/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: name } });
  }

  private allTypes(): ResourceType[] {
    const crds = this.store.list(TYPE_KEY({ group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' }));
    return [...BUILTIN_TYPES, ...crds.flatMap((c) => typesOfCrd(c))];
  }

  // ---- HTTP ----

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', contentType: req.headers['content-type'], accept: req.headers.accept });
    try {
      const url = new URL(req.url ?? '/', 'http://fake');
      const body = await readBody(req);
      // Only JSON bodies are read. Typed clients (kubectl create, client-go) send protobuf first;
      // client-go 1.32 answers a 415 by sending the request again as JSON, as against a server
      // that serves a kind only as JSON.
      const media = (req.headers['content-type'] ?? '').split(';')[0].trim();
      if (body !== '' && (media === 'application/vnd.kubernetes.protobuf' || media === 'application/cbor')) {
        throw new HttpError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`);
      }
      await this.route(req, res, url, body);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) sendStatus(res, err.code, err.reason, err.message, err.details);
      else if (err instanceof AdmissionError) sendStatus(res, err.code, err.reason, err.message);
      else sendStatus(res, 500, 'InternalError', `Internal error occurred: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: string): Promise<void> {
    const path = url.pathname.replace(/\/+$/, '');
    const method = req.method ?? 'GET';
    const types = this.allTypes();
    if (method === 'GET') {
      if (path === '/version') return sendJson(res, 200, { major: '1', minor: String(this.minorVersion), gitVersion: `v1.${this.minorVersion}.0-fake`, platform: 'linux/amd64' });
      if (path === '/api') return sendJson(res, 200, apiVersions());
      if (path === '/apis') return sendJson(res, 200, apiGroupList(types));
      if (path === '/openapi/v3') return sendJson(res, 200, openApiRoot(types, String(types.length)));
      const openapi = /^\/openapi\/v3\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(path);
      if (openapi !== null) {
        const doc = openapi[1] !== undefined ? openApiDocument(types, '', 'v1') : openApiDocument(types, openapi[2], openapi[3]);
        if (doc === undefined) throw new HttpError(404, 'NotFound', 'the server could not find the requested resource');
        return sendJson(res, 200, doc);
      }
      if (path === '/healthz' || path === '/readyz' || path === '/livez') return sendText(res, 200, 'ok');
      const disco = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(path);
      if (disco !== null) {
        const doc = disco[1] !== undefined ? apiResourceList(types, '', 'v1') : apiResourceList(types, disco[2], disco[3]);
        if (doc === undefined) throw new HttpError(404, 'NotFound', 'the server could not find the requested resource');
        return sendJson(res, 200, doc);
      }
    }
    const parsed = this.parsePath(path, types);
    if (parsed === undefined) throw new HttpError(404, 'NotFound', 'the server could not find the requested resource');
    const { type: rt, namespace, name, subresource } = parsed;
    if (rt.kind === 'TokenReview') {
      if (method !== 'POST') throw new HttpError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
      return sendJson(res, 201, this.tokenReview(parseJson(body)));
    }
    if (subresource === 'scale' && name !== undefined && SCALABLE.has(rt.kind)) return this.scale(req, res, rt, namespace, name, body);
    switch (method) {
      case 'GET':
        if (name === undefined) {
          if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') return this.watch(res, rt, namespace, url.searchParams);
          return sendJson(res, 200, this.listObjects(rt, namespace, url.searchParams));
        }
        return sendJson(res, 200, this.mustGet(rt, namespace, name));
      case 'POST': {
        if (name !== undefined) throw new HttpError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
        const obj = parseJson(body) as Obj;
        return sendJson(res, 201, await this.createObject(rt, namespace, obj));
      }
      case 'PUT': {
        if (name === undefined) throw new HttpError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
        const obj = parseJson(body) as Obj;
        return sendJson(res, 200, await this.updateObject(rt, namespace, name, obj, subresource));
      }
      case 'PATCH': {
        if (name === undefined) throw new HttpError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
        return this.patch(res, rt, namespace, name, subresource, req.headers['content-type'] ?? '', body);
      }
      case 'DELETE': {
        if (name === undefined) throw new HttpError(405, 'MethodNotAllowed', 'deletecollection is not supported by this server');
        const gone = this.deleteObject(rt, namespace, name);
        if (gone === undefined) throw notFound(rt, name);
        return sendJson(res, 200, gone);
      }
      default:
        throw new HttpError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
    }
  }

  private parsePath(path: string, types: readonly ResourceType[]): ParsedPath | undefined {
    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/(.+)$/.exec(path);
    if (m === null) return undefined;
    const group = m[1] !== undefined ? '' : m[2];
    const version = m[1] ?? m[3];
    const segs = m[4].split('/').map(decodeURIComponent);
    const find = (resource: string): ResourceType | undefined => types.find((t) => t.group === group && t.version === version && t.resource === resource);
    if (segs[0] === 'namespaces' && segs.length >= 3) {
      const rt = find(segs[2]);
      if (rt !== undefined && rt.namespaced) return { type: rt, namespace: segs[1], ...(segs[3] !== undefined ? { name: segs[3] } : {}), ...(segs[4] !== undefined ? { subresource: segs[4] } : {}) };
    }
    const rt = find(segs[0]);
    if (rt === undefined) return undefined;
    return { type: rt, ...(segs[1] !== undefined ? { name: segs[1] } : {}), ...(segs[2] !== undefined ? { subresource: segs[2] } : {}) };
  }

  private mustGet(rt: ResourceType, namespace: string | undefined, name: string): Obj {
    const o = this.store.get(TYPE_KEY(rt), rt.namespaced ? namespace : undefined, name);
    if (o === undefined) throw notFound(rt, name);
    return o;
  }

  private selectors(params: URLSearchParams): { labels: Requirement[]; fields: FieldRequirement[] } {
    try {
      return { labels: parseLabelSelector(params.get('labelSelector') ?? ''), fields: parseFieldSelector(params.get('fieldSelector') ?? '') };
    } catch (err) {
      if (err instanceof SelectorError) throw new HttpError(400, 'BadRequest', err.message);
      throw err;
    }
  }

  private listObjects(rt: ResourceType, namespace: string | undefined, params: URLSearchParams): object {
    const rvParam = params.get('resourceVersion');
    if (params.get('resourceVersionMatch') === 'Exact' && rvParam !== null && Number(rvParam) < this.store.compactedRv) {
      throw new HttpError(410, 'Expired', `The resourceVersion for the provided list is too old.`);
    }
    const { labels, fields } = this.selectors(params);
    let items = this.store.list(TYPE_KEY(rt), rt.namespaced ? namespace : undefined).filter((o) => matchesLabels(labels, o.metadata.labels) && matchesFields(fields, o));
    let rv = String(this.store.resourceVersion);
    let cont: string | undefined;
    const token = params.get('continue');
    if (token !== null && token !== '') {
      const decoded = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { rv: string; after: string };
      if (Number(decoded.rv) < this.store.compactedRv) {
        throw new HttpError(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.');
      }
      rv = decoded.rv;
      items = items.filter((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}` > decoded.after);
    }
    const limit = Number(params.get('limit') ?? '0');
    if (limit > 0 && items.length > limit) {
      items = items.slice(0, limit);
      const last = items[items.length - 1];
      cont = Buffer.from(JSON.stringify({ rv, after: `${last.metadata.namespace ?? ''}/${last.metadata.name}` })).toString('base64');
    }
    return {
      apiVersion: groupVersion(rt),
      kind: `${rt.kind}List`,
      metadata: { resourceVersion: rv, ...(cont !== undefined ? { continue: cont } : {}) },
      items: items.map((o) => ({ ...o, apiVersion: groupVersion(rt), kind: rt.kind })),
    };
  }

  private watch(res: http.ServerResponse, rt: ResourceType, namespace: string | undefined, params: URLSearchParams): void {
    const { labels, fields } = this.selectors(params);
    const typeKey = TYPE_KEY(rt);
    const ns = rt.namespaced ? namespace : undefined;
    const inScope = (o: Obj): boolean => (ns === undefined || o.metadata.namespace === ns) && matchesLabels(labels, o.metadata.labels) && matchesFields(fields, o);
    if (params.get('sendInitialEvents') === 'true' && (params.get('resourceVersionMatch') !== 'NotOlderThan' || params.get('allowWatchBookmarks') !== 'true')) {
      throw new HttpError(422, 'Invalid', 'sendInitialEvents: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan and allowWatchBookmarks');
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    // Clients wait for the head before they consider the watch open (client-node hangs otherwise).
    res.flushHeaders();
    const open: OpenWatch = { res, typeKey, stalled: false, queue: [] };
    const write = (type: string, object: object): void => {
      const line = `${JSON.stringify({ type, object })}\n`;
      if (open.stalled) open.queue.push(line);
      else res.write(line);
    };
    const shape = (o: Obj): Obj => ({ ...o, apiVersion: groupVersion(rt), kind: rt.kind });
    const deliver = (e: StoredEvent): void => {
      if (e.typeKey !== typeKey) return;
      const now = inScope(e.object);
      const before = e.previous !== undefined && inScope(e.previous);
      if (e.type === 'MODIFIED' && !now && before) write('DELETED', shape(e.object));
      else if (e.type === 'MODIFIED' && now && !before && e.previous !== undefined) write('ADDED', shape(e.object));
      else if (now) write(e.type, shape(e.object));
    };
    const rvParam = params.get('resourceVersion');
    if (params.get('sendInitialEvents') === 'true') {
      // Watch-list (KEP-3157): the state as ADDED events, then a bookmark marking their end.
      for (const o of this.store.list(typeKey, ns)) if (inScope(o)) write('ADDED', shape(o));
      write('BOOKMARK', { kind: rt.kind, apiVersion: groupVersion(rt), metadata: { resourceVersion: String(this.store.resourceVersion), annotations: { 'k8s.io/initial-events-end': 'true' } } });
    } else if (rvParam === null || rvParam === '' || rvParam === '0') {
      // "Any" version: the current state as ADDED events, then changes.
      for (const o of this.store.list(typeKey, ns)) if (inScope(o)) write('ADDED', shape(o));
    } else {
      const past = this.store.since(Number(rvParam));
      if (past === undefined) {
        write('ERROR', { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${rvParam} (${this.store.compactedRv})`, reason: 'Expired', code: 410 });
        res.end();
        return;
      }
      for (const e of past) deliver(e);
    }
    const unwatch = this.store.watch(deliver);
    this.watches.add(open);
    const timers: NodeJS.Timeout[] = [];
    const timeout = Number(params.get('timeoutSeconds') ?? '0');
    // A stalled stream is silent for good, as a connection through a dead middlebox: not even its
    // timeout ends it (it ends once resumed), so only the client's own watchdog notices.
    if (timeout > 0) timers.push(setTimeout(() => (open.stalled ? (open.endWhenResumed = true) : res.end()), timeout * 1000));
    if (params.get('allowWatchBookmarks') === 'true') {
      const t = setInterval(() => {
        if (!open.stalled) write('BOOKMARK', { kind: rt.kind, apiVersion: groupVersion(rt), metadata: { resourceVersion: String(this.store.resourceVersion) } });
      }, this.bookmarkIntervalMs);
      timers.push(t);
    }
    res.on('close', () => {
      unwatch();
      for (const t of timers) clearTimeout(t);
      this.watches.delete(open);
    });
  }

  private async createObject(rt: ResourceType, namespace: string | undefined, input: Obj): Promise<Obj> {
    let obj = input;
    if (typeof obj !== 'object' || obj === null || typeof obj.metadata !== 'object') throw new HttpError(400, 'BadRequest', 'the object has no metadata');
    obj.apiVersion = groupVersion(rt);
    obj.kind = rt.kind;
    if (rt.namespaced) {
      const ns = namespace ?? obj.metadata.namespace ?? 'default';
      if (obj.metadata.namespace !== undefined && obj.metadata.namespace !== ns) {
        throw new HttpError(400, 'BadRequest', `the namespace of the provided object does not match the namespace sent on the request`);
      }
      obj.metadata.namespace = ns;
      if (this.store.get('/namespaces', undefined, ns) === undefined) throw new HttpError(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' });
    } else delete obj.metadata.namespace;
    if ((obj.metadata.name ?? '') === '' && typeof obj.metadata.generateName === 'string') obj.metadata.name = `${obj.metadata.generateName}${randomBytes(4).toString('hex').slice(0, 5)}`;
    if ((obj.metadata.name ?? '') === '') throw new HttpError(422, 'Invalid', `${rt.kind} "" is invalid: metadata.name: Required value: name or generateName is required`);
    if (this.store.get(TYPE_KEY(rt), obj.metadata.namespace, obj.metadata.name) !== undefined) {
      throw new HttpError(409, 'AlreadyExists', `${qualified(rt)} "${obj.metadata.name}" already exists`, { name: obj.metadata.name, group: rt.group, kind: rt.resource });
    }
    delete obj.metadata.resourceVersion;
    delete obj.metadata.uid;
    this.applyDefaults(rt, obj, undefined);
    obj = await this.admission('CREATE', rt, obj, undefined);
    if ('spec' in obj) obj.metadata.generation = 1;
    const stored = this.store.put(TYPE_KEY(rt), obj);
    if (rt.kind === 'Namespace' && this.store.get('/serviceaccounts', obj.metadata.name, 'default') === undefined) {
      this.store.put('/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: obj.metadata.name } });
    }
    return stored;
  }

  private async updateObject(rt: ResourceType, namespace: string | undefined, name: string, input: Obj, subresource: string | undefined): Promise<Obj> {
    const ns = rt.namespaced ? namespace : undefined;
    const current = this.mustGet(rt, ns, name);
    if (typeof input?.metadata !== 'object') throw new HttpError(400, 'BadRequest', 'the object has no metadata');
    if (input.metadata.name !== undefined && input.metadata.name !== name) {
      throw new HttpError(400, 'BadRequest', `the name of the object (${input.metadata.name}) does not match the name on the URL (${name})`);
    }
    const sent = input.metadata.resourceVersion;
    if (sent !== undefined && sent !== '' && sent !== current.metadata.resourceVersion) {
      throw new HttpError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(rt)} "${name}": the object has been modified; please apply your changes to the latest version and try again`, {
        name,
        group: rt.group,
        kind: rt.resource,
      });
    }
    let obj: Obj;
    if (subresource === 'status') {
      obj = { ...current, status: input.status };
    } else if (subresource !== undefined) {
      throw new HttpError(404, 'NotFound', 'the server could not find the requested resource');
    } else {
      // The main resource does not write status where there is a status subresource.
      obj = { ...input, apiVersion: groupVersion(rt), kind: rt.kind, metadata: { ...input.metadata, name, ...(ns !== undefined ? { namespace: ns } : {}) } };
      if (rt.status === true) {
        if (current.status !== undefined) obj.status = current.status;
        else delete obj.status;
      }
      this.applyDefaults(rt, obj, current);
      obj = await this.admission('UPDATE', rt, obj, current);
      const specChanged = JSON.stringify(obj.spec) !== JSON.stringify(current.spec);
      if ('spec' in obj) obj.metadata.generation = (current.metadata.generation ?? 1) + (specChanged ? 1 : 0);
    }
    obj.metadata.uid = current.metadata.uid;
    obj.metadata.creationTimestamp = current.metadata.creationTimestamp;
    // An update that changes nothing is not written: same resourceVersion, no watch event.
    const unversioned = (o: Obj): string => JSON.stringify({ ...o, metadata: { ...o.metadata, resourceVersion: undefined } });
    if (unversioned(obj) === unversioned(current)) return current;
    return this.store.put(TYPE_KEY(rt), obj);
  }

  private async patch(res: http.ServerResponse, rt: ResourceType, namespace: string | undefined, name: string, subresource: string | undefined, contentType: string, body: string): Promise<void> {
    const ns = rt.namespaced ? namespace : undefined;
    const type = contentType.split(';')[0].trim();
    const current = this.store.get(TYPE_KEY(rt), ns, name);
    const builtin = BUILTIN_TYPES.includes(rt);
    try {
      if (type === 'application/apply-patch+yaml') {
        // Server-side apply, as far as a single field manager needs it: create, else merge.
        const applied = parseJson(body) as Obj;
        if (current === undefined) return sendJson(res, 201, await this.createObject(rt, ns, { ...applied, metadata: { ...applied.metadata, name } }));
        const merged = mergePatch(current, applied) as Obj;
        return sendJson(res, 200, await this.updateObject(rt, ns, name, { ...merged, metadata: { ...merged.metadata, resourceVersion: current.metadata.resourceVersion } }, subresource));
      }
      if (current === undefined) throw notFound(rt, name);
      let patched: Obj;
      if (type === 'application/merge-patch+json') patched = mergePatch(current, parseJson(body)) as Obj;
      else if (type === 'application/strategic-merge-patch+json') {
        if (!builtin) throw new HttpError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`);
        patched = strategicMergePatch(current, parseJson(body)) as Obj;
      } else if (type === 'application/json-patch+json') patched = jsonPatch(current, parseJson(body) as Array<{ op: string; path: string }>) as Obj;
      else throw new HttpError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml${builtin ? ', application/strategic-merge-patch+json' : ''}`);
      // A patch that names another resourceVersion is a failed precondition (409), as an update.
      return sendJson(res, 200, await this.updateObject(rt, ns, name, patched, subresource));
    } catch (err) {
      if (err instanceof PatchError) throw new HttpError(422, 'Invalid', err.message);
      throw err;
    }
  }

  /** The `scale` subresource (`kubectl scale`): an autoscaling/v1 Scale over `spec.replicas`. */
  private async scale(req: http.IncomingMessage, res: http.ServerResponse, rt: ResourceType, namespace: string | undefined, name: string, body: string): Promise<void> {
    const current = this.mustGet(rt, namespace, name);
    const asScale = (o: Obj): object => {
      const spec = (o.spec ?? {}) as { replicas?: number; selector?: { matchLabels?: Record<string, string> } };
      const status = (o.status ?? {}) as { replicas?: number };
      const selector = Object.entries(spec.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
      return {
        apiVersion: 'autoscaling/v1',
        kind: 'Scale',
        metadata: { name, namespace: o.metadata.namespace, uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion, creationTimestamp: o.metadata.creationTimestamp },
        spec: { replicas: spec.replicas ?? 1 },
        status: { replicas: status.replicas ?? 0, selector },
      };
    };
    if (req.method === 'GET') return sendJson(res, 200, asScale(current));
    if (req.method !== 'PUT' && req.method !== 'PATCH') throw new HttpError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    const sent = parseJson(body);
    const wanted = (req.method === 'PUT' ? sent : mergePatch(asScale(current), sent)) as { spec?: { replicas?: unknown }; metadata?: { resourceVersion?: string } };
    const replicas = wanted.spec?.replicas;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) throw new HttpError(422, 'Invalid', `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`);
    const updated = await this.updateObject(rt, namespace, name, { ...current, metadata: { ...current.metadata, resourceVersion: wanted.metadata?.resourceVersion ?? current.metadata.resourceVersion }, spec: { ...(current.spec as object), replicas } }, undefined);
    return sendJson(res, 200, asScale(updated));
  }

  private deleteObject(rt: ResourceType, namespace: string | undefined, name: string): Obj | undefined {
    const ns = rt.namespaced ? namespace : undefined;
    const gone = this.store.delete(TYPE_KEY(rt), ns, name);
    if (gone === undefined) return undefined;
    if (rt.kind === 'Namespace') {
      for (const t of this.allTypes().filter((x) => x.namespaced)) {
        for (const o of this.store.list(TYPE_KEY(t), name)) this.store.delete(TYPE_KEY(t), name, o.metadata.name);
      }
    }
    return gone;
  }

  private async admission(operation: 'CREATE' | 'UPDATE', rt: ResourceType, obj: Obj, old: Obj | undefined): Promise<Obj> {
    const mutating = this.store.list('admissionregistration.k8s.io/mutatingwebhookconfigurations');
    const validating = this.store.list('admissionregistration.k8s.io/validatingwebhookconfigurations');
    if (mutating.length === 0 && validating.length === 0) return obj;
    const nsLabels = rt.namespaced ? this.store.get('/namespaces', undefined, obj.metadata.namespace ?? 'default')?.metadata.labels : undefined;
    const out = await admit({ operation, type: rt, object: obj, ...(old !== undefined ? { oldObject: old } : {}), namespaceLabels: nsLabels, mutating, validating, resolve: this.resolveService });
    return out;
  }

  /** What the API server's defaulting and admission plugins set before an object is stored. */
  private applyDefaults(rt: ResourceType, obj: Obj, current: Obj | undefined): void {
    const spec = (obj.spec ?? {}) as Record<string, unknown>;
    switch (rt.kind) {
      case 'Namespace':
        obj.metadata.labels = { ...obj.metadata.labels, 'kubernetes.io/metadata.name': obj.metadata.name };
        obj.spec = { finalizers: ['kubernetes'], ...spec };
        obj.status = current?.status ?? { phase: 'Active' };
        break;
      case 'Service': {
        spec.type ??= 'ClusterIP';
        const previousIp = (current?.spec as { clusterIP?: string } | undefined)?.clusterIP;
        if (spec.type !== 'ExternalName' && (spec.clusterIP === undefined || spec.clusterIP === '')) {
          spec.clusterIP = previousIp ?? this.allocateClusterIp();
        }
        if (spec.clusterIP !== undefined) spec.clusterIPs = [spec.clusterIP];
        spec.sessionAffinity ??= 'None';
        for (const p of (spec.ports ?? []) as Array<Record<string, unknown>>) {
          p.protocol ??= 'TCP';
          p.targetPort ??= p.port;
        }
        obj.spec = spec;
        break;
      }
      case 'Pod':
        spec.serviceAccountName ??= (spec.serviceAccount) ?? 'default';
        spec.restartPolicy ??= 'Always';
        obj.spec = spec;
        if (current === undefined) obj.status = { phase: 'Pending' };
        break;
      case 'Deployment':
        spec.replicas ??= 1;
        obj.spec = spec;
        break;
      default:
        break;
    }
  }

  private allocateClusterIp(): string {
    const n = this.nextClusterIp++;
    return `10.96.${Math.floor(n / 256)}.${n % 256}`;
  }

  private tokenReview(input: unknown): object {
    const spec = ((input as { spec?: { token?: string; audiences?: string[] } }).spec ?? {});
    const known = spec.token !== undefined ? this.tokens.get(spec.token) : undefined;
    const wanted = spec.audiences ?? [];
    const base = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', metadata: { creationTimestamp: null }, spec };
    if (known === undefined) return { ...base, status: { authenticated: false, error: '[invalid bearer token, service account token has been invalidated]', user: {} } };
    const audiences = wanted.length === 0 ? known.audiences : wanted.filter((a) => known.audiences.includes(a));
    if (wanted.length > 0 && audiences.length === 0) return { ...base, status: { authenticated: false, error: '[invalid bearer token, token audiences ["' + known.audiences.join('","') + '"] is invalid for the target audiences ["' + wanted.join('","') + '"]]', user: {} } };
    return {
      ...base,
      status: {
        authenticated: true,
        user: {
          username: `system:serviceaccount:${known.namespace}:${known.serviceAccount}`,
          uid: known.uid,
          groups: ['system:serviceaccounts', `system:serviceaccounts:${known.namespace}`, 'system:authenticated'],
        },
        audiences,
      },
    };
  }
}

function qualified(rt: ResourceType): string {
  return rt.group === '' ? rt.resource : `${rt.resource}.${rt.group}`;
}

function notFound(rt: ResourceType, name: string): HttpError {
  return new HttpError(404, 'NotFound', `${qualified(rt)} "${name}" not found`, { name, group: rt.group, kind: rt.resource });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, 'BadRequest', `the body is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: http.ServerResponse, code: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendText(res: http.ServerResponse, code: number, body: string): void {
  res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendStatus(res: http.ServerResponse, code: number, reason: string, message: string, details?: object): void {
  sendJson(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details !== undefined ? { details } : {}), code });
}
