/**
 * HTML for productpage: the product page itself and the index page. The markup keeps the
 * markers Istio's documentation and tests look for (title, `Book Details`, `Book Reviews`,
 * `Reviews served by:`, filled stars as `<svg id="glyphicon glyphicon-star" ...>` inside
 * `<div class="flex gap-x-1 text-<color>-500">`, and the error sentences).
 */
import type { Fetched } from './backends.js';

export interface Product {
  id: number;
  title: string;
  descriptionHtml: string;
}

export const PRODUCTS: readonly Product[] = [
  {
    id: 0,
    title: 'The Comedy of Errors',
    descriptionHtml:
      '<a href="https://en.wikipedia.org/wiki/The_Comedy_of_Errors">Wikipedia Summary</a>: The Comedy of Errors is one of <b>William Shakespeare\'s</b> early plays. It is his shortest and one of his most farcical comedies, with a major part of the humour coming from slapstick and mistaken identity, in addition to puns and word play.',
  },
];

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STAR = '10,1.5 12.6,7 18.6,7.6 14.1,11.6 15.4,17.6 10,14.5 4.6,17.6 5.9,11.6 1.4,7.6 7.4,7';
const FILLED_STAR = `<svg id="glyphicon glyphicon-star" class="star" viewBox="0 0 20 20" fill="currentColor" aria-hidden="true"><polygon points="${STAR}"/></svg>`;
const EMPTY_STAR = `<svg class="star" viewBox="0 0 20 20" fill="none" stroke="currentColor" stroke-width="1.2" aria-hidden="true"><polygon points="${STAR}"/></svg>`;

function head(): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Simple Bookstore App</title>
<link rel="stylesheet" href="static/bookinfo.css">
</head>`;
}

/** The navigation bar: the user and a sign-out link when logged in, else a sign-in button and its dialog. */
function nav(user: string | undefined): string {
  if (user !== undefined) {
    return `<nav class="nav"><div class="container nav-row"><a href="#" class="brand">BookInfo Sample</a><div class="account"><p class="user">${escapeHtml(user)}</p><a href="logout" class="muted">Sign out</a></div></div></nav>`;
  }
  return `<nav class="nav"><div class="container nav-row"><a href="#" class="brand">BookInfo Sample</a><button type="button" id="sign-in-button" class="button" onclick="document.getElementById('dialog').showModal()">Sign in</button></div></nav>
<dialog id="dialog" class="dialog">
  <h2>Sign in to BookInfo</h2>
  <form method="post" action="login" name="login_form">
    <label for="username">Username</label><input id="username" name="username" required>
    <label for="password">Password</label><input id="password" name="passwd" type="password" required>
    <button type="submit" class="button">Sign in</button>
    <button type="button" class="link" onclick="document.getElementById('dialog').close()">Cancel</button>
  </form>
</dialog>`;
}

function detailsSection(details: Fetched): string {
  if (details.status !== 200) {
    const error = (details.body as { error?: unknown } | undefined)?.error;
    return `<p class="text-2xl text-red-500">Error fetching product details</p>${error !== undefined ? `<p class="text-lg">${escapeHtml(error)}</p>` : ''}`;
  }
  const d = details.body as Record<string, unknown>;
  const cells = ['ISBN-10', 'publisher', 'pages', 'type', 'language'].map((k) => `<td>${escapeHtml(d[k] ?? '')}</td>`).join('');
  return `<h4 class="heading">Book Details</h4>
<table class="details"><thead><tr><th>ISBN-10</th><th>Publisher</th><th>Pages</th><th>Type</th><th>Language</th></tr></thead>
<tbody><tr>${cells}</tr></tbody></table>`;
}

interface Review {
  reviewer?: unknown;
  text?: unknown;
  rating?: { stars?: unknown; color?: unknown; error?: unknown };
}

function ratingHtml(rating: Review['rating']): string {
  if (rating === undefined) return '';
  if (typeof rating.stars === 'number' && rating.stars > 0) {
    const filled = Math.min(5, Math.floor(rating.stars));
    return `<div class="flex gap-x-1 text-${escapeHtml(rating.color)}-500">${FILLED_STAR.repeat(filled)}${EMPTY_STAR.repeat(5 - filled)}</div>`;
  }
  if (rating.error !== undefined) return `<p class="text-red-500">${escapeHtml(rating.error)}</p>`;
  return '';
}

function reviewsSection(reviews: Fetched): string {
  if (reviews.status !== 200) {
    const error = (reviews.body as { error?: unknown } | undefined)?.error;
    return `<p class="text-2xl text-red-500">Error fetching product reviews</p>${error !== undefined ? `<p class="text-lg">${escapeHtml(error)}</p>` : ''}`;
  }
  const body = reviews.body as { podname?: unknown; clustername?: unknown; reviews?: Review[] };
  const servedBy = `Reviews served by: ${escapeHtml(body.podname ?? '')}${
    body.clustername !== undefined && body.clustername !== 'null' ? ` on cluster ${escapeHtml(body.clustername)}` : ''
  }`;
  const items = (Array.isArray(body.reviews) ? body.reviews : []).map(
    (r) => `<section class="review">
  ${ratingHtml(r.rating)}
  <blockquote>"${escapeHtml(r.text ?? '')}"</blockquote>
  <div class="reviewer">${escapeHtml(r.reviewer ?? '')}</div>
  <div class="served-by">${servedBy}</div>
</section>`,
  );
  return `<h4 class="heading">Book Reviews</h4>\n<div class="reviews">\n${items.join('\n')}\n</div>`;
}

/** The product page for `product` with whatever details and reviews could be fetched. */
export function renderProductPage(product: Product, user: string | undefined, details: Fetched, reviews: Fetched): string {
  return `${head()}
<body>
${nav(user)}
<main class="container">
  <h1 class="title">${escapeHtml(product.title)}</h1>
  <p class="description">${product.descriptionHtml}</p>
  <section class="panel">${detailsSection(details)}</section>
</main>
<div class="band"><div class="container">${reviewsSection(reviews)}</div></div>
</body>
</html>
`;
}

/** The landing page: what the application is made of, and links to the product page. */
export function renderIndexPage(services: Record<string, string>): string {
  const rows = Object.entries(services)
    .map(([name, url]) => `<tr><td>${escapeHtml(name)}</td><td>${escapeHtml(url)}</td></tr>`)
    .join('');
  return `${head()}
<body>
<nav class="nav"><div class="container nav-row"><a href="#" class="brand">BookInfo Sample</a></div></nav>
<main class="container">
  <h3>Hello! This is a simple bookstore application consisting of three services as shown below</h3>
  <table class="details"><thead><tr><th>Service</th><th>Address</th></tr></thead><tbody>${rows}</tbody></table>
  <p>Click on one of the links below to auto generate a request to the backend as a real user or a tester</p>
  <p><a href="productpage?u=normal" class="button">Normal user</a> <a href="productpage?u=test" class="button">Test user</a></p>
</main>
</body>
</html>
`;
}
