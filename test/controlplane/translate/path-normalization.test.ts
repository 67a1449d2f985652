/**
 * The mesh config's `pathNormalization` reaches every HTTP listener a proxy gets — a gateway's
 * and a sidecar's outbound and inbound — and BASE, Istio's default, leaves snapshots as they were.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MeshOptions } from '../../../src/controlplane/translate/index.js';
import { translate } from '../../../src/controlplane/translate/index.js';
import type { ProxySnapshot } from '../../../src/snapshot/index.js';
import { loadCase } from './cases.js';

function translated(caseName: string, mesh: Partial<MeshOptions>): ProxySnapshot {
  const c = loadCase(caseName);
  return translate({ config: c.config, registry: c.registry, proxy: c.proxy, mesh: { ...c.mesh, ...mesh } });
}

describe('path normalisation from the mesh config', () => {
  for (const caseName of ['gateway-bookinfo', 'bookinfo-all-v1']) {
    test(`${caseName}: every HTTP listener normalises as the mesh config says`, () => {
      for (const option of ['NONE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES'] as const) {
        const snap = translated(caseName, { pathNormalization: option });
        const http = snap.listeners.filter((l) => l.http !== undefined);
        assert.ok(http.length > 0, 'the case has HTTP listeners');
        for (const l of http) assert.equal(l.http?.pathNormalization, option, `${l.name} under ${option}`);
      }
    });

    test(`${caseName}: BASE and DEFAULT are the proxy's default and add nothing`, () => {
      const none = JSON.stringify(translated(caseName, {}).listeners);
      for (const option of ['BASE', 'DEFAULT'] as const) assert.equal(JSON.stringify(translated(caseName, { pathNormalization: option }).listeners), none, option);
    });
  }
});
