/**
 * skiffd's admission webhooks (AdmissionReview `admission.k8s.io/v1`) over HTTPS: `/inject`, the
 * mutating webhook, answers a pod's creation with the JSON patch that injects its sidecar (the
 * same injection as `skiff kube-inject`; which namespaces and pods reach it is the webhook
 * configuration's selectors, the pod's own opt-out is checked here); `/validate`, the validating
 * webhook, refuses an invalid Istio resource with the messages of `skiff validate`. A malformed
 * review gets 400; the server never throws on input.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { validateResource } from '../api/index.js';
import { formatPath, resourceKey } from '../api/types.js';
import { injectPod, shouldInject } from './inject.js';
import type { InjectOptions, PodTemplate } from './inject.js';

export interface WebhookServerOptions {
  /** The serving certificate (PEM; its names must include `<service>.<namespace>.svc`) and key. */
  cert: string;
  key: string;
  /** What injection makes; a function is asked on every review (the mesh config it reads may change). */
  inject: InjectOptions | (() => InjectOptions);
  port?: number;
  host?: string;
  log?: (line: string) => void;
}

interface AdmissionRequest {
  uid: string;
  kind?: { group?: string; version?: string; kind?: string };
  namespace?: string;
  operation?: string;
  object?: Record<string, unknown>;
}

interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; message: string; reason?: string };
  patchType?: 'JSONPatch';
  patch?: string;
}

/** The answer to one review of a pod: a patch injecting its sidecar, or nothing. */
export function injectionResponse(req: AdmissionRequest, opts: InjectOptions): AdmissionResponse {
  const pod = req.object as PodTemplate | undefined;
  if (pod === undefined || req.kind?.kind !== 'Pod' || !shouldInject(pod, {}, opts.revision)) return { uid: req.uid, allowed: true };
  const ns = req.namespace ?? pod.metadata?.namespace;
  const injected = injectPod({ ...pod, metadata: { ...pod.metadata, ...(ns !== undefined ? { namespace: ns } : {}) } }, opts);
  const patch = [
    { op: 'add', path: '/metadata/labels', value: injected.metadata?.labels ?? {} },
    { op: 'add', path: '/metadata/annotations', value: injected.metadata?.annotations ?? {} },
    { op: 'add', path: '/spec', value: injected.spec },
  ];
  return { uid: req.uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') };
}

/** The answer to one review of an Istio resource: allowed, or refused with what `skiff validate` says. */
export function validationResponse(req: AdmissionRequest): AdmissionResponse {
  const obj = req.object;
  if (obj === undefined) return { uid: req.uid, allowed: true };
  const withNs = { ...obj, metadata: { namespace: req.namespace, ...(obj.metadata as object | undefined) } };
  const result = validateResource(withNs);
  const errors = result.issues.filter((i) => i.severity === 'error');
  if (errors.length === 0) return { uid: req.uid, allowed: true };
  const ref = resourceKey(withNs as { kind: string; metadata?: { name?: string; namespace?: string } });
  const message = `configuration is invalid: ${errors.map((i) => `${ref}: ${formatPath(i.path) === '' ? '' : `${formatPath(i.path)}: `}${i.message}`).join('; ')}`;
  return { uid: req.uid, allowed: false, status: { code: 400, reason: 'BadRequest', message } };
}

export interface WebhookServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  const server = https.createServer({ cert: opts.cert, key: opts.key }, (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      // Kubernetes objects are at most 1.5 MiB; a review holds two of them.
      if (size > 4 * 1024 * 1024) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      const fail = (code: number, message: string): void => void res.writeHead(code, { 'content-type': 'text/plain' }).end(`${message}\n`);
      if (req.method !== 'POST' || (req.url !== '/inject' && req.url !== '/validate')) return fail(404, 'POST /inject or /validate');
      let review: { apiVersion?: string; kind?: string; request?: AdmissionRequest };
      try {
        review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof review;
      } catch {
        return fail(400, 'the body is not JSON');
      }
      const request = review.request;
      if (review.kind !== 'AdmissionReview' || request === undefined || typeof request.uid !== 'string') return fail(400, 'expected an AdmissionReview (admission.k8s.io/v1) with a request and its uid');
      let response: AdmissionResponse;
      try {
        response = req.url === '/inject' ? injectionResponse(request, typeof opts.inject === 'function' ? opts.inject() : opts.inject) : validationResponse(request);
      } catch (err) {
        opts.log?.(`webhook ${req.url}: ${err instanceof Error ? err.message : String(err)}`);
        response = { uid: request.uid, allowed: false, status: { code: 500, message: `skiffd could not review the object: ${err instanceof Error ? err.message : String(err)}` } };
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 15017, opts.host ?? '0.0.0.0', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
