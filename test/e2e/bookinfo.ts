/**
 * Bookinfo as Istio's task pages use it, for the acceptance tests: the two sets of files a test
 * runs against (Istio's own samples with the image map, and this repository's samples), and what
 * a reader of `/productpage` sees on it (which reviews version answered, the star colour, the
 * error sentences).
 */
import { join } from 'node:path';
import { repoRoot } from '../helpers/cli.js';
import { istioSample, skipWithoutIstioSamples } from '../helpers/shared.js';
import type { Mesh, MeshOptions, Response } from './harness.js';

export interface BookinfoFiles {
  /** Shown in test names. */
  label: string;
  /** `skip` option for the tests: a visible reason when the files are absent. */
  skip: string | false;
  /** The app manifests and the image map they need. */
  app: Pick<MeshOptions, 'files' | 'images'>;
  /** A file of the networking directory, e.g. `virtual-service-all-v1.yaml`. */
  networking(file: string): string;
}

/** Istio's samples, unchanged, run through `--images samples/images.yaml`. */
export const istioBookinfo: BookinfoFiles = {
  label: "Istio's samples",
  skip: skipWithoutIstioSamples,
  app: { files: [istioSample('bookinfo', 'platform', 'kube', 'bookinfo.yaml')], images: join(repoRoot, 'samples', 'images.yaml') },
  networking: (file) => istioSample('bookinfo', 'networking', file),
};

/** This repository's samples/bookinfo. */
export const projectBookinfo: BookinfoFiles = {
  label: 'samples/bookinfo',
  skip: false,
  app: { files: [join(repoRoot, 'samples', 'bookinfo', 'bookinfo.yaml')] },
  networking: (file) => join(repoRoot, 'samples', 'bookinfo', 'networking', file),
};

export const BOOKINFO_FILES: readonly BookinfoFiles[] = [istioBookinfo, projectBookinfo];

/** The mesh the task pages start from: Bookinfo, its gateway and the default destination rules. */
export function bookinfoMesh(files: BookinfoFiles, extra: string[] = []): MeshOptions {
  return {
    ...files.app,
    files: [...files.app.files, files.networking('bookinfo-gateway.yaml'), ...extra.map((f) => files.networking(f))],
  };
}

export const REVIEWS_UNAVAILABLE = 'Sorry, product reviews are currently unavailable for this book.';
export const RATINGS_UNAVAILABLE = 'Ratings service is currently unavailable';
/** The docs' marker for "stars are shown". */
export const STAR = 'glyphicon glyphicon-star';

/**
 * What the reader sees in the reviews part of a product page:
 * `v1` (reviews, no stars), `v2` (black stars), `v3` (red stars), `ratings-unavailable`,
 * `reviews-unavailable`, or `other: ...` for anything else.
 */
export type Seen = 'v1' | 'v2' | 'v3' | 'ratings-unavailable' | 'reviews-unavailable' | `other: ${string}`;

export function seenOnPage(res: Response): Seen {
  const page = res.body;
  if (res.status !== 200 || !page.includes('<title>Simple Bookstore App</title>')) return `other: ${res.status} ${page.slice(0, 200)}`;
  if (page.includes(REVIEWS_UNAVAILABLE)) return 'reviews-unavailable';
  const servedBy = /Reviews served by: (reviews-(v\d)-\S+?)</.exec(page);
  if (servedBy === null) return `other: no reviews pod on the page`;
  const version = servedBy[2];
  if (page.includes(RATINGS_UNAVAILABLE)) return 'ratings-unavailable';
  const stars = page.split(STAR).length - 1;
  if (version === 'v1' && stars === 0) return 'v1';
  // 5 + 4 filled stars for the two reviewers, in the version's colour.
  if (version === 'v2' && stars === 9 && page.includes('text-black-500')) return 'v2';
  if (version === 'v3' && stars === 9 && page.includes('text-red-500')) return 'v3';
  return `other: ${servedBy[1]} with ${stars} stars`;
}

/** GET /productpage through the gateway (as `cookie`'s user when given) and what it shows. */
export async function viewProductPage(mesh: Mesh, cookie?: string): Promise<Seen> {
  return seenOnPage(await mesh.get('/productpage', cookie === undefined ? {} : { cookie }));
}
