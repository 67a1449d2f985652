/**
 * httpbin's `/status/{codes}`: one code, or a random pick from a comma-separated list with
 * optional weights (`200:0.9,503:0.1`), answered with the same special bodies and headers as
 * go-httpbin (418 → `I'm a teapot!`, redirects with a Location, 401 with a challenge, ...).
 */

export interface StatusReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const REDIRECT = { headers: { location: '/redirect/1' }, body: '' };
const NOT_ACCEPTABLE_BODY = `${JSON.stringify(
  { message: 'Client did not request a supported media type', accept: ['image/webp', 'image/svg+xml', 'image/jpeg', 'image/png', 'image/'] },
  null,
  2,
)}\n`;

const SPECIAL: Readonly<Record<number, { headers: Record<string, string>; body: string }>> = {
  300: { headers: { location: '/image/jpeg' }, body: '' },
  301: REDIRECT,
  302: REDIRECT,
  303: REDIRECT,
  305: REDIRECT,
  307: REDIRECT,
  308: { headers: { location: '/image/jpeg' }, body: '' },
  401: { headers: { 'www-authenticate': 'Basic realm="Fake Realm"' }, body: '' },
  402: { headers: { 'x-more-info': 'http://vimeo.com/22053820' }, body: 'Fuck you, pay me!' },
  406: { headers: { 'content-type': 'application/json; charset=utf-8' }, body: NOT_ACCEPTABLE_BODY },
  407: { headers: { 'proxy-authenticate': 'Basic realm="Fake Realm"' }, body: '' },
  418: { headers: { 'x-more-info': 'http://tools.ietf.org/html/rfc2324' }, body: "I'm a teapot!" },
};

function parseCode(raw: string): number {
  if (!/^\d+$/.test(raw)) throw new Error(`invalid status code: "${raw}" is not a number`);
  const code = Number(raw);
  if (code < 100 || code > 599) throw new Error(`invalid status code: ${code} not in range [100, 599]`);
  return code;
}

/**
 * Chooses the status for a `/status/` path segment. `random` returns a number in [0, 1).
 * Throws an Error with the reason for a malformed specification.
 */
export function chooseStatus(spec: string, random: () => number = Math.random): number {
  if (!spec.includes(',')) return parseCode(spec);
  const choices = spec.split(',').map((pair) => {
    const [code, weight] = pair.split(':');
    const w = weight === undefined ? 1 : Number(weight);
    if (weight !== undefined && (weight.trim() === '' || !Number.isFinite(w) || w < 0)) throw new Error(`invalid weight value: "${weight}"`);
    let parsed: number;
    try {
      parsed = parseCode(code ?? '');
    } catch {
      throw new Error(`invalid choice value: "${code}"`);
    }
    return { code: parsed, weight: w };
  });
  const total = choices.reduce((sum, c) => sum + c.weight, 0);
  if (total <= 0) throw new Error('weights must not all be zero');
  let point = random() * total;
  for (const choice of choices) {
    point -= choice.weight;
    if (point < 0) return choice.code;
  }
  return choices[choices.length - 1].code;
}

export function statusReply(code: number): StatusReply {
  const special = SPECIAL[code];
  return {
    status: code,
    headers: { 'content-type': 'text/plain; charset=utf-8', ...special?.headers },
    body: special?.body ?? '',
  };
}
