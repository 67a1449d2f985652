/**
 * skiffd's own serving certificate on Kubernetes, as istiod's DNS certificate: signed by the mesh
 * CA for the names of skiffd's Service (`skiffd.istio-system.svc` and its longer and shorter
 * forms), so a proxy that trusts the mesh root (the `istio-ca-root-cert` ConfigMap) trusts the
 * control plane it connects to on the TLS push port (istiod's 15012). It is renewed when two
 * thirds of its life have passed; connections already open keep the one they started with.
 */

/** What signs the certificate: the mesh CA (`MeshCa.issueServing`), seen by its shape from here. */
export interface ServingCertIssuer {
  issueServing(dnsNames: readonly string[], ttlMs: number): Promise<{ cert: string; key: string; notAfter: Date }>;
}

/** A year, renewed after two thirds of it. */
export const SERVING_CERT_TTL_MS = 365 * 24 * 3600_000;
/** How often the renewal is considered (timers cannot wait months). */
const CHECK_EVERY_MS = 3600_000;

/** The DNS names of a Service's serving certificate, as pods and the cluster reach it. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [`${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`, `${service}.${namespace}`, service];
}

export interface ServingCredentials {
  cert: string;
  key: string;
}

/**
 * Issues the serving certificate for `names` now and hands each renewal to `install`; returns the
 * first and a function that stops renewing.
 */
export async function keepServingCert(
  ca: ServingCertIssuer,
  names: readonly string[],
  install: (creds: ServingCredentials) => void,
  log: (line: string) => void,
  ttlMs = SERVING_CERT_TTL_MS,
): Promise<{ first: ServingCredentials; stop: () => void }> {
  let issued = await ca.issueServing(names, ttlMs);
  let renewAt = Date.now() + (ttlMs * 2) / 3;
  let renewing = false;
  const timer = setInterval(
    () => {
      if (renewing || Date.now() < renewAt) return;
      renewing = true;
      ca.issueServing(names, ttlMs)
        .then((next) => {
          issued = next;
          renewAt = Date.now() + (ttlMs * 2) / 3;
          install({ cert: next.cert, key: next.key });
          log(`skiffd: serving certificate for ${names[0]} renewed, valid until ${next.notAfter.toISOString()}`);
        })
        .catch((err: unknown) => log(`skiffd: cannot renew the serving certificate for ${names[0]}: ${err instanceof Error ? err.message : String(err)}; retrying`))
        .finally(() => (renewing = false));
    },
    Math.min(CHECK_EVERY_MS, Math.max(1000, ttlMs / 10)),
  );
  timer.unref();
  return { first: { cert: issued.cert, key: issued.key }, stop: () => clearInterval(timer) };
}
