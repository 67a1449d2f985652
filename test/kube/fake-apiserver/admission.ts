/**
 * Dynamic admission as the API server runs it on create and update: every matching webhook of
 * the MutatingWebhookConfigurations (in name order, each seeing the previous one's result), then
 * every matching one of the ValidatingWebhookConfigurations, each called with an AdmissionReview
 * (`admission.k8s.io/v1`) over HTTPS, trusting the configuration's `caBundle` and checking the
 * service's name (`<service>.<namespace>.svc`). A denial becomes the API server's error
 * (`admission webhook "NAME" denied the request: MESSAGE`, code 400 at least); a webhook that
 * cannot be called fails the request unless its `failurePolicy` is `Ignore`.
 */
import { randomUUID } from 'node:crypto';
import https from 'node:https';
import type { ResourceType } from './catalog.js';
import { jsonPatch } from './patch.js';
import type { Obj } from './store.js';

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }>;
}

interface Rule {
  operations?: string[];
  apiGroups?: string[];
  apiVersions?: string[];
  resources?: string[];
  scope?: string;
}

interface Webhook {
  name: string;
  clientConfig: { url?: string; caBundle?: string; service?: { namespace: string; name: string; path?: string; port?: number } };
  rules?: Rule[];
  failurePolicy?: 'Fail' | 'Ignore';
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  timeoutSeconds?: number;
  admissionReviewVersions?: string[];
}

/** Where a webhook's Service is reached (the test network has no cluster DNS). */
export type ServiceResolver = (namespace: string, name: string, port: number) => { host: string; port: number } | undefined;

export class AdmissionError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

export function selectorMatches(sel: LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  if (sel === undefined) return true;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(l, e.key);
    const ok =
      e.operator === 'In' ? has && (e.values ?? []).includes(l[e.key])
      : e.operator === 'NotIn' ? !has || !(e.values ?? []).includes(l[e.key])
      : e.operator === 'Exists' ? has
      : !has;
    if (!ok) return false;
  }
  return true;
}

function ruleMatches(r: Rule, op: string, rt: ResourceType, subresource: string | undefined): boolean {
  const any = (list: string[] | undefined, v: string): boolean => list === undefined || list.includes('*') || list.includes(v);
  const resource = subresource === undefined ? rt.resource : `${rt.resource}/${subresource}`;
  const resources = r.resources ?? [];
  const resourceOk = resources.includes('*') || resources.includes(resource) || (subresource !== undefined && resources.includes(`${rt.resource}/*`)) || resources.includes('*/*');
  const scope = r.scope ?? '*';
  const scopeOk = scope === '*' || (scope === 'Namespaced') === rt.namespaced;
  return any(r.operations, op) && any(r.apiGroups, rt.group) && any(r.apiVersions, rt.version) && resourceOk && scopeOk;
}

export interface AdmissionInput {
  operation: 'CREATE' | 'UPDATE';
  type: ResourceType;
  object: Obj;
  oldObject?: Obj;
  /** Labels of the object's namespace (the object's own for a Namespace). */
  namespaceLabels: Record<string, string> | undefined;
  mutating: Obj[];
  validating: Obj[];
  resolve: ServiceResolver;
}

/** Runs admission; returns the object as mutated, or throws `AdmissionError`. */
export async function admit(input: AdmissionInput): Promise<Obj> {
  let object = input.object;
  const hooks = (configs: Obj[]): Webhook[] =>
    [...configs].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1)).flatMap((c) => (c.webhooks as Webhook[] | undefined) ?? []);
  for (const hook of hooks(input.mutating)) {
    if (!matches(hook, input, object)) continue;
    const response = await call(hook, input, object);
    if (response === undefined) continue;
    if (response.allowed !== true) throw denial(hook, response.status);
    if (response.patch !== undefined) {
      if (response.patchType !== 'JSONPatch') throw new AdmissionError(500, `Internal error occurred: webhook "${hook.name}" returned a patch of type ${String(response.patchType)}`, 'InternalError');
      const ops = JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as Array<{ op: string; path: string; value?: unknown }>;
      object = jsonPatch(object, ops) as Obj;
    }
  }
  for (const hook of hooks(input.validating)) {
    if (!matches(hook, input, object)) continue;
    const response = await call(hook, input, object);
    if (response !== undefined && response.allowed !== true) throw denial(hook, response.status);
  }
  return object;
}

function matches(hook: Webhook, input: AdmissionInput, object: Obj): boolean {
  if (!(hook.rules ?? []).some((r) => ruleMatches(r, input.operation, input.type, undefined))) return false;
  const nsLabels = input.type.kind === 'Namespace' ? object.metadata.labels : input.namespaceLabels;
  if ((input.type.namespaced || input.type.kind === 'Namespace') && !selectorMatches(hook.namespaceSelector, nsLabels)) return false;
  return selectorMatches(hook.objectSelector, object.metadata.labels) || (input.oldObject !== undefined && selectorMatches(hook.objectSelector, input.oldObject.metadata.labels));
}

interface ReviewResponse {
  uid?: string;
  allowed?: boolean;
  status?: { code?: number; message?: string; reason?: string };
  patch?: string;
  patchType?: string;
}

function denial(hook: Webhook, status: ReviewResponse['status']): AdmissionError {
  const deniedBy = `admission webhook "${hook.name}" denied the request`;
  const code = status?.code !== undefined && status.code >= 400 ? status.code : 400;
  const why = status?.message !== undefined && status.message !== '' ? `: ${status.message}` : status?.reason !== undefined && status.reason !== '' ? `: ${status.reason}` : ' without explanation';
  return new AdmissionError(code, `${deniedBy}${why}`, status?.reason ?? 'BadRequest');
}

/** Calls one webhook; undefined when it failed and its failure policy ignores that. */
async function call(hook: Webhook, input: AdmissionInput, object: Obj): Promise<ReviewResponse | undefined> {
  const uid = randomUUID();
  const rt = input.type;
  const gvk = { group: rt.group, version: rt.version, kind: rt.kind };
  const gvr = { group: rt.group, version: rt.version, resource: rt.resource };
  const review = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: gvk,
      resource: gvr,
      requestKind: gvk,
      requestResource: gvr,
      name: object.metadata.name ?? '',
      ...(object.metadata.namespace !== undefined ? { namespace: object.metadata.namespace } : {}),
      operation: input.operation,
      userInfo: { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] },
      object,
      oldObject: input.oldObject ?? null,
      dryRun: false,
      options: input.operation === 'CREATE' ? { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' } : { kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1' },
    },
  };
  try {
    const body = await post(hook, input.resolve, JSON.stringify(review));
    const answer = JSON.parse(body) as { response?: ReviewResponse };
    if (answer.response === undefined) throw new Error('the AdmissionReview has no response');
    if (answer.response.uid !== uid) throw new Error(`expected response.uid="${uid}", got "${String(answer.response.uid)}"`);
    return answer.response;
  } catch (err) {
    if (hook.failurePolicy === 'Ignore') return undefined;
    throw new AdmissionError(500, `Internal error occurred: failed calling webhook "${hook.name}": failed to call webhook: ${err instanceof Error ? err.message : String(err)}`, 'InternalError');
  }
}

function post(hook: Webhook, resolve: ServiceResolver, body: string): Promise<string> {
  const cc = hook.clientConfig;
  let host: string;
  let port: number;
  let path: string;
  let servername: string;
  if (cc.url !== undefined) {
    const u = new URL(cc.url);
    host = u.hostname;
    port = Number(u.port || 443);
    path = u.pathname + u.search;
    servername = u.hostname;
  } else if (cc.service !== undefined) {
    const s = cc.service;
    const target = resolve(s.namespace, s.name, s.port ?? 443);
    if (target === undefined) return Promise.reject(new Error(`service "${s.name}" not found in namespace "${s.namespace}"`));
    host = target.host;
    port = target.port;
    path = s.path ?? '/';
    servername = `${s.name}.${s.namespace}.svc`;
  } else {
    return Promise.reject(new Error('the webhook has neither url nor service'));
  }
  const ca = cc.caBundle !== undefined ? Buffer.from(cc.caBundle, 'base64').toString('utf8') : undefined;
  return new Promise((resolvePromise, reject) => {
    const req = https.request(
      {
        host,
        port,
        path,
        method: 'POST',
        servername,
        ...(ca !== undefined ? { ca } : {}),
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        timeout: (hook.timeoutSeconds ?? 10) * 1000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 0) >= 300) reject(new Error(`the server responded with ${res.statusCode}: ${text.slice(0, 200)}`));
          else resolvePromise(text);
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`Post "https://${servername}:${port}${path}": context deadline exceeded`)));
    req.on('error', reject);
    req.end(body);
  });
}
