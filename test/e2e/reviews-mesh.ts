/**
 * The mesh the live-config and restart tests run: Bookinfo's productpage, reviews v1 and v2 and
 * ratings (no details, which the reviews API does not call, and no reviews v3), its gateway and
 * DestinationRules, and fortio's pod as the client inside the mesh. Two load paths watch it:
 * gateway → productpage's `/api/v1/products/0/reviews` → reviews, and fortio's sidecar → reviews.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../helpers/cli.js';

export const bookinfoDir = join(repoRoot, 'samples/bookinfo');

/** Path through the ingress gateway that productpage answers from reviews. */
export const GATEWAY_REVIEWS_PATH = '/api/v1/products/0/reviews';
/** What fortio's pod asks through its sidecar. */
export const MESH_REVIEWS_URL = 'http://reviews:9080/reviews/0';
export const CLIENT_WORKLOAD = 'deploy/fortio-deploy';

/** Writes the app manifests into `dir`; returns every file `skiff up -f` takes, in order. */
export async function reviewsMeshFiles(dir: string): Promise<string[]> {
  const docs = readFileSync(join(bookinfoDir, 'bookinfo.yaml'), 'utf8').split(/^---$/m);
  const app = join(dir, 'reviews-app.yaml');
  await writeFile(app, docs.filter((d) => !/^\s+(app|name): details(-v1)?$/m.test(d) && !/^\s+name: reviews-v3$/m.test(d)).join('---'));
  return [
    app,
    join(bookinfoDir, 'networking/bookinfo-gateway.yaml'),
    join(bookinfoDir, 'networking/destination-rule-all.yaml'),
    join(repoRoot, 'samples/fortio/fortio-deploy.yaml'),
  ];
}

/** A VirtualService sending every request for reviews to one subset. */
export function reviewsTo(subset: string): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - route:
    - destination:
        host: reviews
        subset: ${subset}
`;
}

/**
 * The Deployment `name` of the manifests in `appFile` as `kubectl rollout restart` changes it:
 * a `kubectl.kubernetes.io/restartedAt` annotation on its pod template, so its pods are replaced.
 */
export function rolloutRestart(appFile: string, name: string, at = new Date().toISOString()): string {
  const doc = readFileSync(appFile, 'utf8')
    .split(/^---$/m)
    .find((d) => /^kind: Deployment$/m.test(d) && new RegExp(`^  name: ${name}$`, 'm').test(d));
  if (doc === undefined) throw new Error(`no Deployment ${name} in ${appFile}`);
  const [before, after] = doc.split(/^ {6}annotations:\n/m);
  if (after === undefined) throw new Error(`Deployment ${name} in ${appFile} has no pod template annotations`);
  return `${before}      annotations:\n        kubectl.kubernetes.io/restartedAt: "${at}"\n${after}`;
}
