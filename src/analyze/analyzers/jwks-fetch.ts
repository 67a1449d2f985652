/**
 * A RequestAuthentication whose `jwksUri` the running proxies cannot fetch — SKF0010. Istio says
 * nothing of it: every token of the issuer just gets 401 until a fetch works, for minutes. The
 * fetch state is what the proxies report to skiffd (`skiff proxy-status`), so this speaks only of
 * the live mesh: the URI as the proxies reach it, not as this machine would.
 */
import type { RequestAuthenticationSpec } from '../../api/kinds/security/request-authentication.js';
import type { Analyzer, AnalysisContext, ProxyJwksReport } from '../context.js';
import { SECURITY } from '../context.js';
import { MessageTypes, q } from '../messages.js';

/** The failing reports by URI. */
function failingByUri(reports: readonly ProxyJwksReport[]): Map<string, ProxyJwksReport[]> {
  const out = new Map<string, ProxyJwksReport[]>();
  for (const r of reports) {
    if (r.error === '' || r.state === 'fetching') continue;
    const list = out.get(r.uri) ?? [];
    list.push(r);
    out.set(r.uri, list);
  }
  return out;
}

function proxiesText(reports: readonly ProxyJwksReport[]): string {
  const names = [...new Set(reports.map((r) => r.proxy))].sort();
  const shown = names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ');
  return `${names.length} prox${names.length === 1 ? 'y' : 'ies'} (${shown})`;
}

export const jwksFetch: Analyzer = {
  name: 'security.RequestAuthenticationJwksAnalyzer',
  description: "Reports a RequestAuthentication's jwksUri that the running proxies cannot fetch",
  analyze(ctx: AnalysisContext): void {
    const failing = failingByUri(ctx.live.jwks ?? []);
    if (failing.size === 0) return;
    for (const lr of ctx.all(SECURITY, 'RequestAuthentication')) {
      const spec = lr.resource.spec as RequestAuthenticationSpec;
      spec.jwtRules?.forEach((rule, i) => {
        const field = rule.jwksUri !== undefined ? 'jwksUri' : 'jwks_uri';
        const uri = rule.jwksUri ?? rule.jwks_uri;
        if (uri === undefined || rule.jwks !== undefined) return;
        const reports = failing.get(uri);
        if (reports === undefined) return;
        const worst = reports.find((r) => r.state === 'failed') ?? reports[0];
        const consequence =
          worst.state === 'failed'
            ? `tokens of issuer ${q(rule.issuer ?? '')} are refused with 401 "Jwks remote fetch is failed"`
            : `the ${worst.keys} key${worst.keys === 1 ? '' : 's'} fetched before stay in use`;
        ctx.report(
          MessageTypes.UnfetchableJwks,
          lr,
          `The JWKS at ${q(uri)} (jwtRules[${i}]) cannot be fetched by ${proxiesText(reports)}: ${worst.error} (${worst.failures} fetch${worst.failures === 1 ? '' : 'es'} failed in a row); ${consequence}`,
          ['spec', 'jwtRules', i, field],
        );
      });
    }
  },
};
