/**
 * The authorization decision, as Envoy's RBAC filters take it with Istio's policies: CUSTOM
 * policies first (an external service decides, `ext-authz/`), then DENY (any match denies), then
 * ALLOW (with ALLOW policies in force, a request no rule matches is denied; with none, it is
 * allowed). AUDIT policies only mark what they match; dry-run policies (`istio.io/dry-run`) are
 * evaluated apart and reported, never enforced. One engine serves the HTTP filter, the connection
 * filter and `skiff authz explain`.
 *
 * A decision names the rule that took it as Envoy's access log does:
 * `ns[NS]-policy[NAME]-rule[i]`, or `none` when ALLOW policies exist and none matched. The verdict
 * objects are made at compile time, so deciding allocates nothing.
 */
import type { AuthorizationConfig, AuthzAction, AuthzPolicyConfig } from '../../../snapshot/index.js';
import type { AuthzAttributes } from './attributes.js';
import { compileRule, type AttributeTest } from './rules.js';

/** Envoy's name of one rule of one policy. */
export function ruleId(namespace: string, name: string, rule: number): string {
  return `ns[${namespace}]-policy[${name}]-rule[${rule}]`;
}

/** What decided a request or a connection. */
export interface AuthzVerdict {
  readonly allowed: boolean;
  /** `ns[NS]-policy[NAME]-rule[i]` of the deciding rule, `none` when no ALLOW rule matched, '' when no policy decided. */
  readonly matched: string;
  /** The action of the deciding policy, null when none decided. */
  readonly action: 'ALLOW' | 'DENY' | null;
  /** `rbac_access_denied_matched_policy[…]` for a denial, '' for an allowance. */
  readonly details: string;
}

/** A CUSTOM policy a request matched: its provider decides. */
export interface CustomMatch {
  readonly provider: string;
  readonly matched: string;
}

export interface CompiledRulePolicy {
  readonly name: string;
  readonly namespace: string;
  readonly action: AuthzAction;
  readonly dryRun: boolean;
  readonly provider: string | null;
  readonly rules: readonly AttributeTest[];
  /** Per rule: the verdict it gives when it decides. */
  readonly verdicts: readonly AuthzVerdict[];
}

/** One policy's part in a decision, for `skiff authz explain`. */
export interface PolicyTrace {
  readonly namespace: string;
  readonly name: string;
  readonly action: AuthzAction;
  readonly dryRun: boolean;
  /** The first rule that matched, -1 for none. */
  readonly matchedRule: number;
}

export const ALLOWED_BY_DEFAULT: AuthzVerdict = Object.freeze({ allowed: true, matched: '', action: null, details: '' });
const DENIED_NONE: AuthzVerdict = Object.freeze({ allowed: false, matched: 'none', action: 'ALLOW', details: 'rbac_access_denied_matched_policy[none]' });

function firstMatch(p: CompiledRulePolicy, a: AuthzAttributes): number {
  const rules = p.rules;
  for (let i = 0; i < rules.length; i++) if (rules[i](a)) return i;
  return -1;
}

function compilePolicy(p: AuthzPolicyConfig, at: string, protocol: 'http' | 'tcp'): CompiledRulePolicy {
  const drop = protocol === 'http' ? null : p.action === 'ALLOW' || p.action === 'CUSTOM' ? 'rule' : 'field';
  const rules = (p.rules ?? []).map((r, i) => compileRule(r, `${at}.rules[${i}]`, drop));
  const verdicts = rules.map((_, i) => {
    const matched = ruleId(p.namespace, p.name, i);
    return p.action === 'DENY'
      ? Object.freeze({ allowed: false, matched, action: 'DENY' as const, details: `rbac_access_denied_matched_policy[${matched}]` })
      : Object.freeze({ allowed: true, matched, action: 'ALLOW' as const, details: '' });
  });
  return Object.freeze({ name: p.name, namespace: p.namespace, action: p.action, dryRun: p.dryRun === true, provider: p.provider ?? null, rules, verdicts });
}

export class AuthzEngine {
  private readonly deny: readonly CompiledRulePolicy[];
  private readonly allow: readonly CompiledRulePolicy[];
  private readonly customs: readonly CompiledRulePolicy[];
  private readonly audits: readonly CompiledRulePolicy[];
  private readonly shadowDeny: readonly CompiledRulePolicy[];
  private readonly shadowAllow: readonly CompiledRulePolicy[];
  readonly policies: readonly CompiledRulePolicy[];

  /**
   * Compiles the policies for HTTP requests or for TCP connections (where HTTP-only fields are
   * dropped as Istio does). A bad value throws a `RouteConfigError` naming it under `authorization.policies[i]`.
   */
  constructor(config: AuthorizationConfig | undefined, readonly protocol: 'http' | 'tcp') {
    this.policies = (config?.policies ?? []).map((p, i) => compilePolicy(p, `policies[${i}]`, protocol));
    const live = this.policies.filter((p) => !p.dryRun);
    const dry = this.policies.filter((p) => p.dryRun);
    this.deny = live.filter((p) => p.action === 'DENY');
    this.allow = live.filter((p) => p.action === 'ALLOW');
    this.customs = live.filter((p) => p.action === 'CUSTOM');
    this.audits = live.filter((p) => p.action === 'AUDIT');
    this.shadowDeny = dry.filter((p) => p.action === 'DENY');
    this.shadowAllow = dry.filter((p) => p.action === 'ALLOW');
  }

  /** True when no policy is in force: the filters are then left off the listener. */
  get empty(): boolean {
    return this.policies.length === 0;
  }
  get hasCustom(): boolean {
    return this.customs.length > 0;
  }
  get hasAudit(): boolean {
    return this.audits.length > 0;
  }
  get hasDryRun(): boolean {
    return this.shadowDeny.length > 0 || this.shadowAllow.length > 0;
  }

  /** DENY, then ALLOW, over the enforced policies. */
  decide(a: AuthzAttributes): AuthzVerdict {
    for (const p of this.deny) {
      const i = firstMatch(p, a);
      if (i >= 0) return p.verdicts[i];
    }
    if (this.allow.length === 0) return ALLOWED_BY_DEFAULT;
    for (const p of this.allow) {
      const i = firstMatch(p, a);
      if (i >= 0) return p.verdicts[i];
    }
    return DENIED_NONE;
  }

  /** The first enforced CUSTOM policy the request matches, or null. */
  custom(a: AuthzAttributes): CustomMatch | null {
    for (const p of this.customs) {
      const i = firstMatch(p, a);
      if (i >= 0) return { provider: p.provider ?? '', matched: p.verdicts[i].matched };
    }
    return null;
  }

  /** The first AUDIT rule the request matches (`ns[…]-policy[…]-rule[i]`), or null. */
  audit(a: AuthzAttributes): string | null {
    for (const p of this.audits) {
      const i = firstMatch(p, a);
      if (i >= 0) return p.verdicts[i].matched;
    }
    return null;
  }

  /**
   * What the dry-run policies would have decided: their DENY, then their ALLOW (as if they were the
   * only ALLOW policies); null when there are none.
   */
  shadow(a: AuthzAttributes): AuthzVerdict | null {
    if (!this.hasDryRun) return null;
    for (const p of this.shadowDeny) {
      const i = firstMatch(p, a);
      if (i >= 0) return p.verdicts[i];
    }
    if (this.shadowAllow.length === 0) return ALLOWED_BY_DEFAULT;
    for (const p of this.shadowAllow) {
      const i = firstMatch(p, a);
      if (i >= 0) return p.verdicts[i];
    }
    return DENIED_NONE;
  }

  /** Every policy with the rule of it that matched, in order (for `skiff authz explain`). */
  trace(a: AuthzAttributes): PolicyTrace[] {
    return this.policies.map((p) => ({ namespace: p.namespace, name: p.name, action: p.action, dryRun: p.dryRun, matchedRule: firstMatch(p, a) }));
  }
}
