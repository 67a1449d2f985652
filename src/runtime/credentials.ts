/**
 * The local runtime's proof of workload: every pod it starts with a proxy gets a random bootstrap
 * token, written to a file only the user can read (`<state-dir>/runtime/credentials/<ns>/<pod>.token`,
 * mode 0600 in a 0700 directory) and named to the proxy (`--credential-file`). The control
 * plane's CA asks the runtime which pod a token was given to and signs a certificate for that
 * pod's namespace and service account only. The runtime knows the pods it started, as the kubelet
 * knows the pods it runs: the token stands for Kubernetes' projected service-account token.
 *
 * A token lives as long as its pod: a pod adopted by a new runtime keeps its file (its proxy still
 * reads it), and the token goes when the pod is stopped.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The identity a token proves. */
export interface PodIdentity {
  namespace: string;
  serviceAccount: string;
  pod: string;
}

export function credentialsDir(stateDir: string): string {
  return join(stateDir, 'runtime', 'credentials');
}

export function credentialFile(stateDir: string, namespace: string, pod: string): string {
  return join(credentialsDir(stateDir), namespace, `${pod}.token`);
}

/** Tokens are looked up by digest, so the table holds no token and lookups compare no secrets byte by byte. */
function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export class PodCredentials {
  private readonly byDigest = new Map<string, PodIdentity>();
  private readonly byPod = new Map<string, string>();

  constructor(private readonly stateDir: string) {}

  /**
   * The credential file of a pod, its token registered for `identity`: the pod's existing token
   * when one is on disk (an adopted pod), else a new one.
   */
  issue(identity: PodIdentity): string {
    const file = credentialFile(this.stateDir, identity.namespace, identity.pod);
    let token: string | undefined;
    try {
      token = readFileSync(file, 'utf8').trim();
    } catch {
      token = undefined;
    }
    if (token === undefined || token.length < 32) {
      token = randomBytes(32).toString('base64url');
      const dir = join(credentialsDir(this.stateDir), identity.namespace);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chmodSync(credentialsDir(this.stateDir), 0o700);
      chmodSync(dir, 0o700);
      writeFileSync(file, `${token}\n`, { mode: 0o600 });
      chmodSync(file, 0o600);
    }
    this.forget(identity.namespace, identity.pod);
    const d = digest(token);
    this.byDigest.set(d, { ...identity });
    this.byPod.set(`${identity.namespace}/${identity.pod}`, d);
    return file;
  }

  /** The pod a token was issued to; undefined for any other string. */
  lookup(token: string): PodIdentity | undefined {
    const found = this.byDigest.get(digest(token));
    return found === undefined ? undefined : { ...found };
  }

  /** Withdraws a pod's token and removes its file. */
  revoke(namespace: string, pod: string): void {
    this.forget(namespace, pod);
    rmSync(credentialFile(this.stateDir, namespace, pod), { force: true });
  }

  private forget(namespace: string, pod: string): void {
    const key = `${namespace}/${pod}`;
    const d = this.byPod.get(key);
    if (d !== undefined) this.byDigest.delete(d);
    this.byPod.delete(key);
  }
}
