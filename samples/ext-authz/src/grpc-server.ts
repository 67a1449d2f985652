/**
 * The sample's gRPC check service: `envoy.service.auth.v3.Authorization/Check` served by
 * @grpc/grpc-js with Envoy's messages (`authz-proto.ts`), deciding as Istio's Go sample does — a
 * request whose `x-ext-authz` header is `allow` is allowed, one with any other value denied, and
 * one without the header allowed only when the source principal is the allowed service account
 * (`.../sa/<name>`). Both answers carry `x-ext-authz-check-result` (`allowed` / `denied`),
 * `x-ext-authz-check-received` (the attributes the check saw, in protobuf's text format) and
 * `x-ext-authz-additional-header-override`; a denial is gRPC status PERMISSION_DENIED with a
 * DeniedHttpResponse of 403 and the sample's body.
 */
import * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';
import { AUTHORIZATION_SERVICE, AUTHZ_LOADER_OPTIONS, AUTHZ_PROTO_JSON, type CheckRequest, type CheckResponse } from '../../../src/proxy/filters/ext-authz/authz-proto.js';

export const CHECK_HEADER = 'x-ext-authz';
export const ALLOWED_VALUE = 'allow';
export const RESULT_HEADER = 'x-ext-authz-check-result';
export const RECEIVED_HEADER = 'x-ext-authz-check-received';
export const OVERRIDE_HEADER = 'x-ext-authz-additional-header-override';
const OVERRIDE_GRPC_VALUE = 'grpc-additional-header-override-value';
export const DENY_BODY = `denied by ext_authz for not found header \`${CHECK_HEADER}: ${ALLOWED_VALUE}\` in the request`;
/** Envoy takes headers up to 60 KiB: a longer text is replaced, as the original does. */
const MAX_RECEIVED = 60_000;

/** Fields of the attributes that are protobuf maps (printed as `key`/`value` entries, sorted). */
const MAP_FIELDS = new Set(['headers', 'labels', 'contextExtensions']);

const snake = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** One value in protobuf's text format, or null when it is a default (which the format leaves out). */
function textValue(v: unknown): string | null {
  if (v === null || v === undefined || v === '' || v === 0 || v === false) return null;
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'object') {
    const fields: string[] = [];
    for (const [k, field] of Object.entries(v as Record<string, unknown>)) {
      if (MAP_FIELDS.has(k) && field !== null && typeof field === 'object') {
        for (const key of Object.keys(field).sort()) fields.push(`${snake(k)}:{key:${JSON.stringify(key)} value:${JSON.stringify((field as Record<string, unknown>)[key])}}`);
        continue;
      }
      const items = Array.isArray(field) ? (field as unknown[]) : [field];
      for (const item of items) {
        const text = textValue(item);
        if (text !== null) fields.push(`${snake(k)}:${text}`);
      }
    }
    return fields.length === 0 ? null : `{${fields.join(' ')}}`;
  }
  return null;
}

/** The attributes the check saw, on one line (what Go's `String()` prints), unless too long for a header. */
export function receivedText(attributes: CheckRequest['attributes']): string {
  const text = (textValue(attributes) ?? '{}').slice(1, -1);
  return text.length > MAX_RECEIVED ? '<too-long>' : text;
}

/** The Go sample's rule: the header decides when present, else the source's service account. */
export function allowed(req: CheckRequest, allowServiceAccount: string): boolean {
  const attrs = req.attributes;
  const value = attrs.request?.http?.headers?.[CHECK_HEADER];
  if (value !== undefined) return value === ALLOWED_VALUE;
  return (attrs.source?.principal ?? '').endsWith(`/sa/${allowServiceAccount}`);
}

const header = (key: string, value: string): { header: { key: string; value: string } } => ({ header: { key, value } });

/** The answer to `req`, as the Go sample gives it. */
export function checkAnswer(req: CheckRequest, allowServiceAccount: string): { allow: boolean; response: Partial<CheckResponse> } {
  const allow = allowed(req, allowServiceAccount);
  const headers = [header(RESULT_HEADER, allow ? 'allowed' : 'denied'), header(RECEIVED_HEADER, receivedText(req.attributes)), header(OVERRIDE_HEADER, OVERRIDE_GRPC_VALUE)];
  if (allow) return { allow, response: { status: { code: grpc.status.OK }, okResponse: { headers, headersToRemove: [], responseHeadersToAdd: [] } } };
  return { allow, response: { status: { code: grpc.status.PERMISSION_DENIED }, deniedResponse: { status: { code: 403 }, headers, body: DENY_BODY } } };
}

/** Serves the check on `address` (`host:port`); `log` hears one line per check. Resolves with the bound port. */
export function serveCheck(address: string, allowServiceAccount: string, log: (line: string) => void): Promise<{ server: grpc.Server; port: number }> {
  const def = fromJSON(AUTHZ_PROTO_JSON, AUTHZ_LOADER_OPTIONS)[AUTHORIZATION_SERVICE] as grpc.ServiceDefinition;
  const server = new grpc.Server();
  server.addService(def, {
    Check: (call: grpc.ServerUnaryCall<CheckRequest, CheckResponse>, done: grpc.sendUnaryData<Partial<CheckResponse>>) => {
      const { allow, response } = checkAnswer(call.request, allowServiceAccount);
      const http = call.request.attributes.request?.http;
      log(`[gRPCv3][${allow ? 'allowed' : 'denied'}]: ${http?.host ?? ''}${http?.path ?? ''}, attributes: ${receivedText(call.request.attributes)}`);
      done(null, response);
    },
  });
  return new Promise((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) => {
      if (err !== null) reject(err);
      else resolve({ server, port });
    });
  });
}
