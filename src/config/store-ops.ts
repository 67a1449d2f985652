/**
 * Apply and delete as the user asks for them (files in, one outcome per resource out), shared by
 * skiffd's API and by the CLI when it works on the state directory directly, so both answer alike.
 */
import { unenforcedUses, unenforcedWarning } from '../api/not-enforced.js';
import type { Finding } from './finding.js';
import type { InputText } from './sources.js';
import type { ConfigStore } from './store.js';
import { deleteTargets, loadForApply } from './store-input.js';
import type { InputParsing } from './input-parser.js';
import type { ResourceId } from './store-keys.js';

export interface AppliedItem extends ResourceId {
  /** `virtualservice.networking.istio.io/reviews`. */
  ref: string;
  action: 'created' | 'configured' | 'unchanged';
}

/** The answer to an apply: every resource's outcome, or the refusal with every finding. */
export type ApplyResponse =
  | {
      ok: true;
      applied: AppliedItem[];
      warnings: Finding[];
      /** Kinds and fields stored but not acted on, one sentence each (as kubectl shows an API server's warnings). */
      notEnforced: string[];
      resourceVersion: number;
    }
  | { ok: false; findings: Finding[] };

export interface DeletedItem extends ResourceId {
  ref: string;
  /** False when no such resource was stored (kubectl's NotFound). */
  deleted: boolean;
}

export type DeleteResponse =
  | { ok: true; deleted: DeletedItem[]; warnings: Finding[]; resourceVersion: number }
  | { ok: false; findings: Finding[] };

/** Reads input in place, on the caller's thread (the CLI working on the state directory). */
export const INLINE_PARSING: InputParsing = { forApply: loadForApply, forDelete: deleteTargets };

/** Validates the texts and, when all of it is valid, applies it as one change. */
export async function applyTexts(store: ConfigStore, inputs: readonly InputText[], defaultNamespace?: string, parsing: InputParsing = INLINE_PARSING): Promise<ApplyResponse> {
  const input = await parsing.forApply(inputs, defaultNamespace);
  if (!input.ok) return input;
  const outcomes = await store.apply(input.resources);
  return {
    ok: true,
    applied: outcomes.map((o) => ({ ...o.id, ref: o.ref, action: o.action })),
    warnings: input.warnings,
    notEnforced: input.resources.flatMap((r) => unenforcedUses(r).map((use) => unenforcedWarning(r, use))),
    resourceVersion: store.resourceVersion,
  };
}

/** Deletes what the texts name; a syntax error refuses the whole input. */
export async function deleteTexts(store: ConfigStore, inputs: readonly InputText[], defaultNamespace?: string, parsing: InputParsing = INLINE_PARSING): Promise<DeleteResponse> {
  const { targets, findings } = await parsing.forDelete(inputs, defaultNamespace);
  if (findings.some((f) => f.severity === 'error')) return { ok: false, findings };
  return deleteIds(store, targets, findings);
}

/** Deletes resources by identity (`skiff delete KIND NAME`). */
export async function deleteIds(store: ConfigStore, ids: readonly ResourceId[], warnings: Finding[] = []): Promise<DeleteResponse> {
  const outcomes = await store.delete(ids);
  return {
    ok: true,
    deleted: outcomes.map((o) => ({ ...o.id, ref: o.ref, deleted: o.deleted })),
    warnings,
    resourceVersion: store.resourceVersion,
  };
}
