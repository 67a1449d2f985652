/**
 * The texts and flags of Envoy's local replies for upstream failures, word for word, because
 * that is what users search for.
 */
import type { ResetReason } from '../upstream/pool.js';
import { ResponseFlag } from '../../telemetry/response-flags.js';

export const NO_HEALTHY_UPSTREAM = 'no healthy upstream';
export const UPSTREAM_TIMEOUT = 'upstream request timeout';
export const FAULT_ABORT = 'fault filter abort';

/** Envoy's local reply text for an upstream failure before response headers. */
export function upstreamResetBody(reason: ResetReason, retried: boolean, transportFailure: string): string {
  const tf = transportFailure === '' ? '' : `, transport failure reason: ${transportFailure}`;
  return `upstream connect error or disconnect/reset before headers. ${retried ? 'retried and the latest ' : ''}reset reason: ${reason}${tf}`;
}

/** The response flag for an upstream failure reason. */
export function flagForReset(reason: ResetReason): number {
  switch (reason) {
    case 'remote connection failure':
    case 'local connection failure':
    case 'connection timeout':
      return ResponseFlag.UF;
    case 'overflow':
      return ResponseFlag.UO;
    case 'remote reset':
    case 'remote refused stream reset':
      return ResponseFlag.UR;
    case 'local reset':
      return ResponseFlag.LR;
    case 'protocol error':
      return ResponseFlag.UPE;
    default:
      return ResponseFlag.UC;
  }
}

