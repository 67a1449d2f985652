/**
 * What analyzers see and how they report: the loaded resources of the whole set, looked up by
 * group and kind, and a `report` that turns a finding about a field into a positioned message.
 */
import type { Resource } from '../api/types.js';
import type { LoadedResource, SourcePos } from '../config/finding.js';
import { documentationUrl } from './messages.js';
import type { Level, MessageType } from './messages.js';

/** The resource a message is about. */
export interface MessageResource {
  kind: string;
  name: string;
  namespace?: string;
}

/** One analysis message, as printed by `skiff analyze`. */
export interface AnalysisMessage {
  code: string;
  name: string;
  level: Level;
  message: string;
  resource?: MessageResource;
  origin?: SourcePos;
  documentationUrl?: string;
}

/** An analyzer checks one concern across the set of resources. */
export interface Analyzer {
  name: string;
  description: string;
  analyze(ctx: AnalysisContext): void;
}

export const NETWORKING = 'networking.istio.io';
export const SECURITY = 'security.istio.io';
export const TELEMETRY = 'telemetry.istio.io';
export const CORE = '';
export const APPS = 'apps';

export function groupOf(apiVersion: string): string {
  const slash = apiVersion.lastIndexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

export function namespaceOf(r: Resource): string {
  return r.metadata.namespace ?? '';
}

/** `namespace/name` (Istio's FullName), or just `name` for cluster-scoped resources. */
export function fullName(r: Resource): string {
  const ns = namespaceOf(r);
  return ns ? `${ns}/${r.metadata.name}` : r.metadata.name;
}

export function messageResource(r: Resource): MessageResource {
  const ns = namespaceOf(r);
  return { kind: r.kind, name: r.metadata.name, ...(ns ? { namespace: ns } : {}) };
}

/** What a running proxy reports of one JWKS it fetches (skiffd's proxy status), for the analysis of the live mesh. */
export interface ProxyJwksReport {
  /** The proxy, `name.namespace`. */
  proxy: string;
  uri: string;
  state: 'fetching' | 'ready' | 'failed';
  /** Why its last fetch failed; '' when it did not. */
  error: string;
  /** Fetches failed in a row. */
  failures: number;
  /** Keys of the set in use (0 without one). */
  keys: number;
}

/** What the running mesh says beyond its resources; absent when no skiffd runs. */
export interface LiveState {
  jwks?: readonly ProxyJwksReport[];
}

export class AnalysisContext {
  readonly messages: AnalysisMessage[] = [];
  private readonly byKind = new Map<string, LoadedResource[]>();

  constructor(
    readonly resources: readonly LoadedResource[],
    readonly live: LiveState = {},
  ) {
    for (const lr of resources) {
      const key = `${groupOf(lr.resource.apiVersion)}/${lr.resource.kind}`;
      const list = this.byKind.get(key) ?? [];
      list.push(lr);
      this.byKind.set(key, list);
    }
  }

  /** Every resource of `group`/`kind`, in input order. */
  all(group: string, kind: string): readonly LoadedResource[] {
    return this.byKind.get(`${group}/${kind}`) ?? [];
  }

  /** Reports `type` about `lr`, positioned at `path` (a field path from the resource root). */
  report(type: MessageType, lr: LoadedResource, message: string, path: ReadonlyArray<string | number> = ['metadata', 'name']): void {
    const url = documentationUrl(type.code);
    this.messages.push({
      code: type.code,
      name: type.name,
      level: type.level,
      message,
      resource: messageResource(lr.resource),
      origin: lr.locate(path),
      ...(url !== undefined ? { documentationUrl: url } : {}),
    });
  }
}
