/**
 * security.istio.io AuthorizationPolicy: schema (istio/api security/v1beta1/authorization.proto)
 * and the checks of Istio's ValidateAuthorizationPolicy.
 */
import type { Static } from 'typebox';
import { Enum, List, OneOf, Opt, Str, StringList, Strict } from '../../schema-kit.js';
import type { Issue, KindDef, Resource } from '../../types.js';
import { PolicyTargetReference, WorkloadSelector, checkTargetRefs, checkWorkloadSelector, ipOrCidrProblem } from '../common.js';

const list = (description: string): ReturnType<typeof StringList> => StringList({ description });

const Source = Strict(
  {
    principals: Opt(list('Peer identities (SPIFFE IDs without the spiffe:// prefix) to match.')),
    notPrincipals: Opt(list('Negative match of peer identities.')),
    requestPrincipals: Opt(list('Request identities (`iss/sub` claims of the JWT) to match.')),
    notRequestPrincipals: Opt(list('Negative match of request identities.')),
    namespaces: Opt(list('Namespaces of the peer identity to match.')),
    notNamespaces: Opt(list('Negative match of namespaces.')),
    serviceAccounts: Opt(List(Str({ maxLength: 320 }), { maxItems: 16, description: 'Service accounts (`ns/name`) to match.' })),
    notServiceAccounts: Opt(List(Str({ maxLength: 320 }), { maxItems: 16, description: 'Negative match of service accounts.' })),
    ipBlocks: Opt(list('Source IPs or CIDRs of the connection.')),
    notIpBlocks: Opt(list('Negative match of IP blocks.')),
    remoteIpBlocks: Opt(list('Original client IPs or CIDRs (X-Forwarded-For / proxy protocol).')),
    notRemoteIpBlocks: Opt(list('Negative match of remote IP blocks.')),
    trustDomains: Opt(list('Trust domains of the peer identity to match.')),
    notTrustDomains: Opt(list('Negative match of trust domains.')),
  },
  { description: 'Source specifies the source of a request.' },
);

const Operation = Strict(
  {
    hosts: Opt(list('Host names (Host/:authority) to match.')),
    notHosts: Opt(list('Negative match of hosts.')),
    ports: Opt(list('Destination ports (as strings) to match.')),
    notPorts: Opt(list('Negative match of ports.')),
    methods: Opt(list('HTTP methods to match.')),
    notMethods: Opt(list('Negative match of methods.')),
    paths: Opt(list('Request paths to match (exact, prefix `/a/*`, suffix `*/b` or presence `*`).')),
    notPaths: Opt(list('Negative match of paths.')),
  },
  { description: 'Operation specifies the operation of a request.' },
);

const Condition = Strict({
  key: Str({ description: 'The name of an Istio attribute, e.g. `request.headers[x-foo]`.' }),
  values: Opt(list('Allowed values for the attribute.')),
  notValues: Opt(list('Negative match of values.')),
});

const Rule = Strict({
  from: Opt(List(Strict({ source: Opt(Source) }), { maxItems: 512, description: 'Sources of a request (ORed).' })),
  to: Opt(List(Strict({ operation: Opt(Operation) }), { description: 'Operations of a request (ORed).' })),
  when: Opt(List(Condition, { description: 'Additional conditions (ANDed).' })),
});

export const AuthorizationPolicySpec = OneOf(
  Strict(
    {
      selector: Opt(WorkloadSelector),
      targetRef: Opt(PolicyTargetReference),
      targetRefs: Opt(List(PolicyTargetReference, { maxItems: 16 })),
      rules: Opt(List(Rule, { maxItems: 512, description: 'Rules to match the request; a match triggers the action.' })),
      action: Opt(Enum(['ALLOW', 'DENY', 'AUDIT', 'CUSTOM'] as const, { default: 'ALLOW', description: 'The action to take if the request is matched.' })),
      provider: Opt(Strict({ name: Opt(Str({ description: 'Name of the extension provider (mesh config).' })) }, {
        description: 'Specifies detailed configuration of the CUSTOM action.',
      })),
    },
    { description: 'Configuration for access control on workloads.' },
  ),
  [['selector', 'targetRef', 'targetRefs']],
);
export type AuthorizationPolicySpec = Static<typeof AuthorizationPolicySpec>;

type Path = Array<string | number>;
const err = (path: Path, message: string): Issue => ({ severity: 'error', path, message });

const SOURCE_FIELDS = [
  'principals', 'requestPrincipals', 'namespaces', 'ipBlocks', 'remoteIpBlocks', 'notPrincipals',
  'notRequestPrincipals', 'notNamespaces', 'notIpBlocks', 'notRemoteIpBlocks', 'serviceAccounts',
  'notServiceAccounts',
] as const;
const OPERATION_FIELDS = ['ports', 'methods', 'paths', 'hosts', 'notPorts', 'notMethods', 'notPaths', 'notHosts'] as const;
const IP_FIELDS = ['ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks'] as const;
/** Path templates Envoy cannot match: named variables, `{}` and bare `*`/`**` segments next to templates. */
const UNSUPPORTED_PATH_TEMPLATE = /\/\{\w+=\*[*]?\}|\{\w*\}|\/\*[*]?|\*[*]?\//;

function checkEmptyValues(values: readonly string[] | undefined, path: Path, out: Issue[]): void {
  values?.forEach((v, i) => {
    if (v === '') out.push(err([...path, i], 'empty value not allowed'));
  });
}

function checkIps(values: readonly string[] | undefined, path: Path, out: Issue[]): void {
  values?.forEach((v, i) => {
    const p = v === '' ? undefined : ipOrCidrProblem(v);
    if (p !== undefined) out.push(err([...path, i], p));
  });
}

function checkPorts(values: readonly string[] | undefined, path: Path, out: Issue[]): void {
  values?.forEach((v, i) => {
    if (v !== '' && (!/^\d+$/.test(v) || Number(v) > 65535)) out.push(err([...path, i], `bad port (${v}): must be a number in 0-65535`));
  });
}

/** Istio's security.ValidateAttribute: which `when.key` attributes exist and what values they take. */
export function attributeProblem(key: string, values: readonly string[]): string | undefined {
  const mapKey = (): string | undefined => {
    const open = key.indexOf('[');
    return key.endsWith(']') && open > 0 && open < key.length - 2 ? undefined : `bad key (${key}): should have format a[b]`;
  };
  if (key.startsWith('request.headers') || key.startsWith('request.auth.claims') || key.startsWith('experimental.envoy.filters.')) return mapKey();
  switch (key) {
    case 'source.ip':
    case 'remote.ip':
    case 'destination.ip':
      return values.map((v) => ipOrCidrProblem(v)).find((p) => p !== undefined);
    case 'destination.port':
      return values.find((v) => !/^\d+$/.test(v) || Number(v) > 65535) === undefined ? undefined : 'bad port: must be a number in 0-65535';
    case 'source.namespace':
    case 'source.principal':
    case 'source.trustDomain':
    case 'request.auth.principal':
    case 'request.auth.audiences':
    case 'request.auth.presenter':
    case 'connection.sni':
      return undefined;
    case 'destination.namespace':
      return `attribute ${key} is replaced by the metadata.namespace`;
    case 'destination.name':
    case 'destination.user':
      return `deprecated attribute ${key}: only supported in v1alpha1`;
    default:
      if (key.startsWith('destination.labels')) return `attribute ${key} is replaced by the workload selector`;
      return `unknown attribute: ${key}`;
  }
}

function checkCustomAction(spec: AuthorizationPolicySpec, out: Issue[]): void {
  const rules = spec.rules ?? [];
  if (rules.length === 0) {
    out.push(err(['spec', 'rules'], 'CUSTOM action without `rules` is meaningless as it will never be triggered, add an empty rule `{}` if you want it be triggered for every request'));
  } else if (!spec.provider?.name) {
    out.push(err(['spec', 'provider', 'name'], '`provider.name` must not be empty with the CUSTOM action'));
  }
  rules.forEach((rule, i) => {
    rule.from?.forEach((from, j) => {
      for (const f of ['namespaces', 'notNamespaces', 'principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals'] as const) {
        if ((from.source?.[f]?.length ?? 0) > 0) {
          out.push(err(['spec', 'rules', i, 'from', j, 'source', f], `from.source.${f} is currently not supported with CUSTOM action`));
        }
      }
    });
    rule.when?.forEach((cond, j) => {
      if (cond.key === 'source.namespace' || cond.key === 'source.principal' || cond.key.startsWith('request.auth.')) {
        out.push(err(['spec', 'rules', i, 'when', j, 'key'], `${cond.key} is currently not supported with CUSTOM action`));
      }
    });
  });
}

function checkRule(rule: AuthorizationPolicySpec['rules'] extends Array<infer R> | undefined ? R : never, i: number, out: Issue[]): void {
  const at: Path = ['spec', 'rules', i];
  rule.from?.forEach((from, j) => {
    const src = from.source;
    const p: Path = [...at, 'from', j, 'source'];
    if (src === undefined) return void out.push(err(p, '`from.source` must be set'));
    if (!SOURCE_FIELDS.some((f) => (src[f]?.length ?? 0) > 0)) out.push(err(p, '`from.source` must not be empty'));
    if ((src.serviceAccounts !== undefined || src.notServiceAccounts !== undefined) &&
      [src.principals, src.notPrincipals, src.namespaces, src.notNamespaces].some((v) => v !== undefined)) {
      out.push(err(p, 'Cannot set serviceAccounts with namespaces or principals'));
    }
    for (const f of IP_FIELDS) checkIps(src[f], [...p, f], out);
    for (const f of SOURCE_FIELDS) checkEmptyValues(src[f], [...p, f], out);
  });
  rule.to?.forEach((to, j) => {
    const op = to.operation;
    const p: Path = [...at, 'to', j, 'operation'];
    if (op === undefined) return void out.push(err(p, '`to.operation` must be set'));
    if (!OPERATION_FIELDS.some((f) => (op[f]?.length ?? 0) > 0)) out.push(err(p, '`to.operation` must not be empty'));
    checkPorts(op.ports, [...p, 'ports'], out);
    checkPorts(op.notPorts, [...p, 'notPorts'], out);
    for (const f of OPERATION_FIELDS) checkEmptyValues(op[f], [...p, f], out);
    for (const f of ['paths', 'notPaths'] as const) {
      op[f]?.forEach((path, k) => {
        if ((path.includes('{*}') || path.includes('{**}')) && UNSUPPORTED_PATH_TEMPLATE.test(path)) {
          out.push(err([...p, f, k], `invalid or unsupported path template "${path}"`));
        }
      });
    }
  });
  rule.when?.forEach((cond, j) => {
    const p: Path = [...at, 'when', j];
    if (cond.key === '') return void out.push(err([...p, 'key'], '`key` must not be empty'));
    const values = cond.values ?? [];
    const notValues = cond.notValues ?? [];
    if (values.length === 0 && notValues.length === 0) {
      return void out.push(err(p, `at least one of \`values\` or \`notValues\` must be set for key ${cond.key}`));
    }
    checkEmptyValues(cond.values, [...p, 'values'], out);
    checkEmptyValues(cond.notValues, [...p, 'notValues'], out);
    const problem = attributeProblem(cond.key, [...values, ...notValues].filter((v) => v !== ''));
    if (problem !== undefined) out.push(err([...p, 'key'], `invalid \`key\` ${cond.key}: ${problem}`));
  });
}

/** Istio's ValidateAuthorizationPolicy, with each finding at the field it is about. */
export function authorizationPolicyRules(r: Resource): Issue[] {
  const spec = r.spec as AuthorizationPolicySpec;
  const out: Issue[] = [...checkWorkloadSelector(spec.selector, ['spec', 'selector']), ...checkTargetRefs(spec)];
  const action = spec.action ?? 'ALLOW';
  if (action === 'CUSTOM') checkCustomAction(spec, out);
  if (spec.provider !== undefined && action !== 'CUSTOM') {
    out.push(err(['spec', 'provider'], `\`provider\` must not be with non CUSTOM action, found ${action}`));
  }
  if (action === 'DENY' && (spec.rules ?? []).length === 0) {
    out.push(err(['spec', 'rules'], 'DENY action without `rules` is meaningless as it will never be triggered, add an empty rule `{}` if you want it be triggered for every request'));
  }
  spec.rules?.forEach((rule, i) => checkRule(rule, i, out));
  return out;
}

export const authorizationPolicy: KindDef = {
  group: 'security.istio.io',
  kind: 'AuthorizationPolicy',
  plural: 'authorizationpolicies',
  versions: ['v1', 'v1beta1'],
  namespaced: true,
  schema: AuthorizationPolicySpec,
  rules: authorizationPolicyRules,
};
