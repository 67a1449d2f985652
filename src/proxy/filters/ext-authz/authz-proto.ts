/**
 * Envoy's external authorization API (`envoy.service.auth.v3.Authorization/Check`), the messages
 * it needs written out in protobuf.js's JSON form with Envoy's own names and field numbers
 * (envoy/service/auth/v3/external_auth.proto and attribute_context.proto, envoy/config/core/v3
 * Address and HeaderValueOption, envoy/type/v3 HttpStatus, google.rpc.Status), so a real Envoy or
 * any authorization service built on Envoy's protos speaks the same wire format. Fields Skiff
 * neither sends nor reads (metadata contexts, raw header maps and bodies, query parameter
 * mutations, status details) are left out: protobuf skips unknown fields.
 */
import type { fromJSON } from '@grpc/proto-loader';

export const AUTHORIZATION_SERVICE = 'envoy.service.auth.v3.Authorization';

/** `HeaderValueOption.HeaderAppendAction`. */
const APPEND_ACTIONS = { APPEND_IF_EXISTS_OR_ADD: 0, ADD_IF_ABSENT: 1, OVERWRITE_IF_EXISTS_OR_ADD: 2, OVERWRITE_IF_EXISTS: 3 };

/** A `map<string, string>` field (protobuf.js's IMapField; the loader's type lists only plain fields). */
function stringMap(id: number): { keyType: string; type: string; id: number } {
  return { keyType: 'string', type: 'string', id };
}

const PEER = {
  fields: {
    address: { type: 'envoy.config.core.v3.Address', id: 1 },
    service: { type: 'string', id: 2 },
    labels: stringMap(3),
    principal: { type: 'string', id: 4 },
    certificate: { type: 'string', id: 5 },
  },
};

const HTTP_REQUEST = {
  fields: {
    id: { type: 'string', id: 1 },
    method: { type: 'string', id: 2 },
    headers: stringMap(3),
    path: { type: 'string', id: 4 },
    host: { type: 'string', id: 5 },
    scheme: { type: 'string', id: 6 },
    query: { type: 'string', id: 7 },
    fragment: { type: 'string', id: 8 },
    size: { type: 'int64', id: 9 },
    protocol: { type: 'string', id: 10 },
    body: { type: 'string', id: 11 },
  },
};

/** protobuf.js `INamespace` JSON of the messages (loaded with @grpc/proto-loader's `fromJSON`). */
export const AUTHZ_PROTO_JSON: Parameters<typeof fromJSON>[0] = {
  nested: {
    google: {
      nested: {
        protobuf: {
          nested: {
            Timestamp: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
            BoolValue: { fields: { value: { type: 'bool', id: 1 } } },
          },
        },
        rpc: { nested: { Status: { fields: { code: { type: 'int32', id: 1 }, message: { type: 'string', id: 2 } } } } },
      },
    },
    envoy: {
      nested: {
        config: {
          nested: {
            core: {
              nested: {
                v3: {
                  nested: {
                    SocketAddress: {
                      fields: { protocol: { type: 'int32', id: 1 }, address: { type: 'string', id: 2 }, portValue: { type: 'uint32', id: 3 }, namedPort: { type: 'string', id: 4 } },
                    },
                    Address: { fields: { socketAddress: { type: 'SocketAddress', id: 1 } } },
                    HeaderValue: { fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
                    HeaderValueOption: {
                      fields: {
                        header: { type: 'HeaderValue', id: 1 },
                        append: { type: 'google.protobuf.BoolValue', id: 2 },
                        appendAction: { type: 'HeaderAppendAction', id: 3 },
                        keepEmptyValue: { type: 'bool', id: 4 },
                      },
                      nested: { HeaderAppendAction: { values: APPEND_ACTIONS } },
                    },
                  },
                },
              },
            },
          },
        },
        // The status code is an enum in Envoy's proto; an int32 is the same varint on the wire
        // and keeps codes the enum does not list.
        type: { nested: { v3: { nested: { HttpStatus: { fields: { code: { type: 'int32', id: 1 } } } } } } },
        service: {
          nested: {
            auth: {
              nested: {
                v3: {
                  nested: {
                    Authorization: { methods: { Check: { requestType: 'CheckRequest', responseType: 'CheckResponse', comment: 'Performs an authorization check on the attributes of a request.' } } },
                    AttributeContext: {
                      fields: {
                        source: { type: 'Peer', id: 1 },
                        destination: { type: 'Peer', id: 2 },
                        request: { type: 'Request', id: 4 },
                        contextExtensions: stringMap(10),
                        tlsSession: { type: 'TLSSession', id: 12 },
                      },
                      nested: {
                        Peer: PEER,
                        Request: { fields: { time: { type: 'google.protobuf.Timestamp', id: 1 }, http: { type: 'HttpRequest', id: 2 } } },
                        HttpRequest: HTTP_REQUEST,
                        TLSSession: { fields: { sni: { type: 'string', id: 1 } } },
                      },
                    },
                    CheckRequest: { fields: { attributes: { type: 'AttributeContext', id: 1 } } },
                    DeniedHttpResponse: {
                      fields: {
                        status: { type: 'envoy.type.v3.HttpStatus', id: 1 },
                        headers: { rule: 'repeated', type: 'envoy.config.core.v3.HeaderValueOption', id: 2 },
                        body: { type: 'string', id: 3 },
                      },
                    },
                    OkHttpResponse: {
                      fields: {
                        headers: { rule: 'repeated', type: 'envoy.config.core.v3.HeaderValueOption', id: 2 },
                        headersToRemove: { rule: 'repeated', type: 'string', id: 5 },
                        responseHeadersToAdd: { rule: 'repeated', type: 'envoy.config.core.v3.HeaderValueOption', id: 6 },
                      },
                    },
                    CheckResponse: {
                      fields: {
                        status: { type: 'google.rpc.Status', id: 1 },
                        deniedResponse: { type: 'DeniedHttpResponse', id: 2 },
                        okResponse: { type: 'OkHttpResponse', id: 3 },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};

/** The messages as @grpc/proto-loader hands them over (enums as names, longs as numbers). */
export interface AuthzPeer {
  address?: { socketAddress?: { address: string; portValue: number } | null } | null;
  service?: string;
  labels?: Record<string, string>;
  principal?: string;
  certificate?: string;
}
export interface AuthzHttpRequest {
  id?: string;
  method: string;
  headers: Record<string, string>;
  path: string;
  host: string;
  scheme?: string;
  query?: string;
  fragment?: string;
  size?: number;
  protocol?: string;
  body?: string;
}
export interface CheckRequest {
  attributes: {
    source?: AuthzPeer | null;
    destination?: AuthzPeer | null;
    request: { time?: { seconds: number; nanos: number } | null; http: AuthzHttpRequest };
    contextExtensions?: Record<string, string>;
    tlsSession?: { sni: string } | null;
  };
}
export type HeaderAppendAction = keyof typeof APPEND_ACTIONS;
export interface HeaderValueOption {
  header: { key: string; value: string } | null;
  append?: { value: boolean } | null;
  appendAction?: HeaderAppendAction;
  keepEmptyValue?: boolean;
}
export interface CheckResponse {
  status: { code: number; message?: string } | null;
  deniedResponse?: { status: { code: number } | null; headers: HeaderValueOption[]; body: string } | null;
  okResponse?: { headers: HeaderValueOption[]; headersToRemove: string[]; responseHeadersToAdd: HeaderValueOption[] } | null;
}

/** proto-loader options both ends use: enums as their names, 64-bit numbers as JS numbers, defaults filled in. */
export const AUTHZ_LOADER_OPTIONS = { keepCase: false, enums: String, longs: Number, defaults: true, arrays: true } as const;
