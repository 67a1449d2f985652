/**
 * VirtualService (networking.istio.io): the schema and TypeScript types of its spec, named as in
 * Istio's virtual_service.proto. Cross-field rules live in `rules/virtual-service.ts`.
 */
import type { Static } from 'typebox';
import {
  Bool,
  Bytes,
  Enum,
  Int32,
  List,
  MapOf,
  OneOf,
  Opt,
  Regex,
  Str,
  StringList,
  StringMap,
  Strict,
  UInt32,
} from '../../schema-kit.js';
import { Destination, Duration1ms, ExportTo, Nullable, Percent, StringMatch } from './common.js';
import { CorsPolicy, HTTPFaultInjection, HTTPMirrorPolicy, HTTPRetry } from './http-policies.js';

export const HeaderOperations = Strict(
  {
    set: Opt(StringMap({ description: 'Overwrite these headers with the given values.' })),
    add: Opt(StringMap({ description: 'Append these header values.' })),
    remove: Opt(StringList({ description: 'Remove these headers.' })),
  },
  { description: 'Header manipulations.' },
);
export type HeaderOperations = Static<typeof HeaderOperations>;

export const Headers = Strict(
  {
    request: Opt(HeaderOperations),
    response: Opt(HeaderOperations),
  },
  { description: 'Header manipulations for requests and responses.' },
);
export type Headers = Static<typeof Headers>;

/** `withoutHeaders` takes `regex: "*"` to mean "header present", which is no RE2 pattern. */
const StringMatchWithPresence = OneOf(
  Strict(
    {
      exact: Opt(Str({ description: 'Exact string match.' })),
      prefix: Opt(Str({ description: 'Prefix match.' })),
      regex: Opt(Str({ description: 'RE2 regular expression matching the whole value ("*": header present).' })),
    },
    { description: 'How a string is matched.' },
  ),
  [['exact', 'prefix', 'regex']],
);

export const HTTPMatchRequest = Strict(
  {
    name: Opt(Str({ description: 'Name of the match, appended to the route name in logs.' })),
    uri: Opt(StringMatch),
    scheme: Opt(StringMatch),
    method: Opt(StringMatch),
    authority: Opt(StringMatch),
    headers: Opt(MapOf(StringMatch, { description: 'Request headers to match (lowercase names); {} means present.' })),
    port: Opt(UInt32({ description: 'Port on the host being addressed.' })),
    sourceLabels: Opt(StringMap({ description: 'Labels of the source workload.' })),
    gateways: Opt(StringList({ description: 'Gateways where this match applies (overrides the top-level list).' })),
    queryParams: Opt(MapOf(StringMatch, { description: 'Query parameters to match; {} means present.' })),
    ignoreUriCase: Opt(Bool({ description: 'Match the URI case-insensitively.' })),
    withoutHeaders: Opt(MapOf(StringMatchWithPresence, { description: 'Headers that must NOT match.' })),
    sourceNamespace: Opt(Str({ description: 'Namespace of the source workload.' })),
    statPrefix: Opt(Str({ description: 'Prefix for the statistics of this route.' })),
  },
  { description: 'Conditions a request must meet (all of them) for the rule to apply.' },
);
export type HTTPMatchRequest = Static<typeof HTTPMatchRequest>;

export const HTTPRouteDestination = Strict(
  {
    destination: Destination,
    weight: Opt(Int32({ description: 'Relative share of traffic for this destination.' })),
    headers: Opt(Headers),
  },
  { description: 'A weighted HTTP destination.' },
);
export type HTTPRouteDestination = Static<typeof HTTPRouteDestination>;

export const RouteDestination = Strict(
  {
    destination: Destination,
    weight: Opt(Int32({ description: 'Relative share of connections for this destination.' })),
  },
  { description: 'A weighted TCP/TLS destination.' },
);
export type RouteDestination = Static<typeof RouteDestination>;

export const HTTPRedirect = OneOf(
  Strict(
    {
      uri: Opt(Str({ description: 'Replace the path with this value.' })),
      authority: Opt(Str({ description: 'Replace the authority/host with this value.' })),
      port: Opt(UInt32({ description: 'Replace the port with this value.' })),
      derivePort: Opt(Enum(['FROM_PROTOCOL_DEFAULT', 'FROM_REQUEST_PORT'] as const, { description: 'Derive the port.' })),
      scheme: Opt(Str({ description: 'Replace the scheme (http or https).' })),
      redirectCode: Opt(UInt32({ description: 'Redirect status code (default 301).' })),
      prefixRewrite: Opt(Str({ description: 'Replace the matched prefix with this value.' })),
    },
    { description: 'Send a redirect instead of forwarding.' },
  ),
  [['port', 'derivePort']],
);
export type HTTPRedirect = Static<typeof HTTPRedirect>;

export const HTTPBody = OneOf(
  Strict(
    {
      string: Opt(Str({ description: 'Body as text.' })),
      bytes: Opt(Bytes({ description: 'Body as base64-encoded bytes.' })),
    },
    { description: 'Body of a direct response.' },
  ),
  [['string', 'bytes']],
);
export type HTTPBody = Static<typeof HTTPBody>;

export const HTTPDirectResponse = Strict(
  {
    status: UInt32({ description: 'HTTP status to return.' }),
    body: Opt(HTTPBody),
  },
  { description: 'Answer the request directly instead of forwarding it.' },
);
export type HTTPDirectResponse = Static<typeof HTTPDirectResponse>;

export const Delegate = Strict(
  {
    name: Opt(Str({ description: 'Name of the delegate VirtualService.' })),
    namespace: Opt(Str({ description: 'Namespace of the delegate VirtualService (default: this one).' })),
  },
  { description: 'Delegate routing of this rule to another VirtualService.' },
);
export type Delegate = Static<typeof Delegate>;

export const RegexRewrite = Strict(
  {
    match: Opt(Regex({ description: 'RE2 pattern matched against the path.' })),
    rewrite: Opt(Str({ description: 'Replacement; may use capture groups (\\1).' })),
  },
  { description: 'Rewrite the path with a regular expression.' },
);
export type RegexRewrite = Static<typeof RegexRewrite>;

export const HTTPRewrite = Strict(
  {
    uri: Opt(Str({ description: 'Replace the path (or the matched prefix) with this value.' })),
    authority: Opt(Str({ description: 'Replace the authority/host header with this value.' })),
    uriRegexRewrite: Opt(RegexRewrite),
  },
  { description: 'Rewrite the request before forwarding.' },
);
export type HTTPRewrite = Static<typeof HTTPRewrite>;

export const HTTPRoute = Strict(
  {
    name: Opt(Str({ description: 'Name of the route, for logs and debugging.' })),
    match: Opt(List(HTTPMatchRequest, { description: 'Conditions; any one of them selects this rule.' })),
    route: Opt(List(HTTPRouteDestination, { description: 'Weighted destinations.' })),
    redirect: Opt(HTTPRedirect),
    directResponse: Opt(HTTPDirectResponse),
    delegate: Opt(Delegate),
    rewrite: Opt(HTTPRewrite),
    timeout: Opt(Duration1ms('Request timeout (default: none).')),
    retries: Opt(HTTPRetry),
    fault: Opt(HTTPFaultInjection),
    mirror: Opt(Destination),
    mirrors: Opt(List(HTTPMirrorPolicy, { description: 'Destinations receiving a copy of the traffic.' })),
    mirror_percent: Opt(Nullable(UInt32({ description: 'Deprecated: use mirrorPercentage.' }))),
    mirrorPercent: Opt(Nullable(UInt32({ description: 'Deprecated: use mirrorPercentage.' }))),
    mirrorPercentage: Opt(Percent),
    corsPolicy: Opt(CorsPolicy),
    headers: Opt(Headers),
  },
  { description: 'An HTTP routing rule.' },
);
export type HTTPRoute = Static<typeof HTTPRoute>;

const l4Match = {
  destinationSubnets: Opt(StringList({ description: 'Destination IPs or CIDR blocks.' })),
  port: Opt(UInt32({ description: 'Port on the host being addressed.' })),
  sourceLabels: Opt(StringMap({ description: 'Labels of the source workload.' })),
  gateways: Opt(StringList({ description: 'Gateways where this match applies.' })),
  sourceNamespace: Opt(Str({ description: 'Namespace of the source workload.' })),
};

export const TLSMatchAttributes = Strict(
  { sniHosts: StringList({ description: 'SNI values to match.' }), ...l4Match },
  { description: 'Conditions on a TLS connection.' },
);
export type TLSMatchAttributes = Static<typeof TLSMatchAttributes>;

export const L4MatchAttributes = Strict(
  { ...l4Match, sourceSubnet: Opt(Str({ description: 'Source IP or CIDR block.' })) },
  { description: 'Conditions on a TCP connection.' },
);
export type L4MatchAttributes = Static<typeof L4MatchAttributes>;

export const TLSRoute = Strict(
  {
    match: List(TLSMatchAttributes, { description: 'Conditions; any one of them selects this rule.' }),
    route: Opt(List(RouteDestination, { description: 'Weighted destinations.' })),
  },
  { description: 'A routing rule for unterminated TLS (passthrough).' },
);
export type TLSRoute = Static<typeof TLSRoute>;

export const TCPRoute = Strict(
  {
    match: Opt(List(L4MatchAttributes, { description: 'Conditions; any one of them selects this rule.' })),
    route: Opt(List(RouteDestination, { description: 'Weighted destinations.' })),
  },
  { description: 'A routing rule for opaque TCP traffic.' },
);
export type TCPRoute = Static<typeof TCPRoute>;

export const VirtualServiceSpec = Strict(
  {
    hosts: Opt(StringList({ description: 'Hosts this VirtualService applies to (empty: a delegate).' })),
    gateways: Opt(StringList({ description: 'Gateways (namespace/name) and/or "mesh" the routes apply to.' })),
    http: Opt(List(HTTPRoute, { description: 'Ordered HTTP rules; the first match wins.' })),
    tls: Opt(List(TLSRoute, { description: 'Ordered rules for unterminated TLS traffic.' })),
    tcp: Opt(List(TCPRoute, { description: 'Ordered rules for opaque TCP traffic.' })),
    exportTo: Opt(ExportTo('VirtualService')),
  },
  { description: 'Routing rules for traffic to a set of hosts.' },
);
export type VirtualServiceSpec = Static<typeof VirtualServiceSpec>;
