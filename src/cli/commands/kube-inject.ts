/**
 * `skiff kube-inject -f FILE`, as `istioctl kube-inject`: prints the manifest with a sidecar
 * injected into every pod template that does not opt out (`sidecar.istio.io/inject: "false"`) and
 * is not injected already — the same injection the webhook makes (`src/kube/inject.ts`).
 */
import type { Command } from 'commander';

interface KubeInjectOptions {
  filename: string;
  output?: string;
  image?: string;
  controlPlane: string;
  nativeSidecar?: boolean;
  revision: string;
  holdApplicationUntilProxyStarts?: boolean;
}

export function register(program: Command): void {
  program
    .command('kube-inject')
    .description('Inject the sidecar into the pod templates of a Kubernetes manifest (as istioctl kube-inject)')
    .requiredOption('-f, --filename <file>', 'the manifest (- for stdin)')
    .option('-o, --output <file>', 'write here instead of stdout')
    .option('--image <image>', 'image of istio-proxy and istio-init (default: skiff:<this version>)')
    .option('--control-plane <url>', "skiffd's push URL as pods reach it (TLS, as istiod's 15012)", 'https://skiffd.istio-system.svc:15012')
    .option('--native-sidecar', 'inject istio-proxy as a native sidecar (an init container with restartPolicy: Always; Kubernetes 1.29 and later)')
    .option('--revision <rev>', 'the control plane revision', 'default')
    .option('--hold-application-until-proxy-starts', "the mesh config's defaultConfig.holdApplicationUntilProxyStarts: start each app only once its proxy is ready (a pod's proxy.istio.io/config annotation overrides it)")
    .action(async (opts: KubeInjectOptions) => {
      const { readFileSync, writeFileSync } = await import('node:fs');
      const { parseAllDocuments, stringify } = await import('yaml');
      const { injectObject } = await import('../../kube/inject.js');
      const { imageOf } = await import('./manifest.js');
      const text = opts.filename === '-' ? readFileSync(0, 'utf8') : readFileSync(opts.filename, 'utf8');
      const image = await imageOf(opts.image);
      const out: string[] = [];
      for (const doc of parseAllDocuments(text)) {
        if (doc.errors.length > 0) throw new Error(`${opts.filename}: ${doc.errors[0].message}`);
        const obj: unknown = doc.toJS();
        if (obj === null || obj === undefined) continue;
        if (typeof obj !== 'object' || Array.isArray(obj)) throw new Error(`${opts.filename}: a document is not a Kubernetes object`);
        out.push(stringify(injectObject(obj as Record<string, unknown>, { image, controlPlaneUrl: opts.controlPlane, nativeSidecar: opts.nativeSidecar === true, revision: opts.revision, holdApplicationUntilProxyStarts: opts.holdApplicationUntilProxyStarts === true }), { lineWidth: 0 }));
      }
      const result = out.join('---\n');
      if (opts.output !== undefined) writeFileSync(opts.output, result);
      else process.stdout.write(result);
    });
}
