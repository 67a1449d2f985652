/**
 * Envoy's rate-limit service API (`envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit`),
 * the messages it needs written out in protobuf.js's JSON form with Envoy's own names and field
 * numbers (envoy/service/ratelimit/v3/rls.proto, envoy/extensions/common/ratelimit/v3,
 * envoy/config/core/v3 HeaderValue, google.protobuf.Duration), so a real Envoy or the real
 * `envoyproxy/ratelimit` service speaks the same wire format. Fields Skiff neither sends nor reads
 * (quota, raw_body, dynamic_metadata) are left out: protobuf skips unknown fields.
 */
import type { fromJSON } from '@grpc/proto-loader';

export const RLS_SERVICE = 'envoy.service.ratelimit.v3.RateLimitService';

const RATE_LIMIT_UNITS = { UNKNOWN: 0, SECOND: 1, MINUTE: 2, HOUR: 3, DAY: 4, MONTH: 5, YEAR: 6, WEEK: 7 };

/** protobuf.js `INamespace` JSON of the messages (loaded with @grpc/proto-loader's `fromJSON`). */
export const RLS_PROTO_JSON: Parameters<typeof fromJSON>[0] = {
  nested: {
    google: {
      nested: {
        protobuf: {
          nested: {
            Duration: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
            UInt64Value: { fields: { value: { type: 'uint64', id: 1 } } },
          },
        },
      },
    },
    envoy: {
      nested: {
        config: { nested: { core: { nested: { v3: { nested: { HeaderValue: { fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } } } } } } } },
        type: { nested: { v3: { nested: { RateLimitUnit: { values: RATE_LIMIT_UNITS } } } } },
        extensions: {
          nested: {
            common: {
              nested: {
                ratelimit: {
                  nested: {
                    v3: {
                      nested: {
                        RateLimitDescriptor: {
                          fields: {
                            entries: { rule: 'repeated', type: 'Entry', id: 1 },
                            limit: { type: 'RateLimitOverride', id: 2 },
                            hitsAddend: { type: 'google.protobuf.UInt64Value', id: 3 },
                          },
                          nested: {
                            Entry: { fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
                            RateLimitOverride: { fields: { requestsPerUnit: { type: 'uint32', id: 1 }, unit: { type: 'envoy.type.v3.RateLimitUnit', id: 2 } } },
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
        service: {
          nested: {
            ratelimit: {
              nested: {
                v3: {
                  nested: {
                    RateLimitService: {
                      methods: { ShouldRateLimit: { requestType: 'RateLimitRequest', responseType: 'RateLimitResponse', comment: 'Determine whether rate limiting should take place.' } },
                    },
                    RateLimitRequest: {
                      fields: {
                        domain: { type: 'string', id: 1 },
                        descriptors: { rule: 'repeated', type: 'envoy.extensions.common.ratelimit.v3.RateLimitDescriptor', id: 2 },
                        hitsAddend: { type: 'uint32', id: 3 },
                      },
                    },
                    RateLimitResponse: {
                      fields: {
                        overallCode: { type: 'Code', id: 1 },
                        statuses: { rule: 'repeated', type: 'DescriptorStatus', id: 2 },
                        responseHeadersToAdd: { rule: 'repeated', type: 'envoy.config.core.v3.HeaderValue', id: 3 },
                        requestHeadersToAdd: { rule: 'repeated', type: 'envoy.config.core.v3.HeaderValue', id: 4 },
                      },
                      nested: {
                        Code: { values: { UNKNOWN: 0, OK: 1, OVER_LIMIT: 2 } },
                        RateLimit: {
                          fields: { name: { type: 'string', id: 3 }, requestsPerUnit: { type: 'uint32', id: 1 }, unit: { type: 'Unit', id: 2 } },
                          nested: { Unit: { values: RATE_LIMIT_UNITS } },
                        },
                        DescriptorStatus: {
                          fields: {
                            code: { type: 'Code', id: 1 },
                            currentLimit: { type: 'RateLimit', id: 2 },
                            limitRemaining: { type: 'uint32', id: 3 },
                            durationUntilReset: { type: 'google.protobuf.Duration', id: 4 },
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
    },
  },
};

/** The messages as @grpc/proto-loader hands them over (enums as names, longs as numbers). */
export interface RlsEntry {
  key: string;
  value: string;
}
export interface RlsDescriptor {
  entries: RlsEntry[];
}
export interface RlsRequest {
  domain: string;
  descriptors: RlsDescriptor[];
  hitsAddend?: number;
}
export type RlsCode = 'UNKNOWN' | 'OK' | 'OVER_LIMIT';
export interface RlsDescriptorStatus {
  code: RlsCode;
  currentLimit?: { name?: string; requestsPerUnit: number; unit: string } | null;
  limitRemaining: number;
  durationUntilReset?: { seconds: number; nanos: number } | null;
}
export interface RlsResponse {
  overallCode: RlsCode;
  statuses: RlsDescriptorStatus[];
  responseHeadersToAdd: { key: string; value: string }[];
  requestHeadersToAdd: { key: string; value: string }[];
}

/** proto-loader options both ends use: enums as their names, 64-bit numbers as JS numbers, defaults filled in. */
export const RLS_LOADER_OPTIONS = { keepCase: false, enums: String, longs: Number, defaults: true, arrays: true } as const;
