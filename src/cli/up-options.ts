/** The options of `skiff up`, shared by its foreground and detached paths. */

export interface UpOptions {
  filename?: string[];
  images?: string;
  ingressPort: number;
  apiPort: number;
  pushPort: number;
  stateDir?: string;
  namespace?: string;
  detach?: boolean;
  /** commander's negation of `--no-runtime`: false runs config only (store, API, push). */
  runtime: boolean;
  /** commander's negation of `--no-sidecars`. */
  sidecars: boolean;
  /** Log every push and proxy connection too. */
  verbose?: boolean;
  /** Seconds `--detach` waits for every workload to be ready. */
  timeout: number;
}
