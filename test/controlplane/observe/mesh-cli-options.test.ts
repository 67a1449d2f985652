/**
 * `skiff up`'s mesh-wide telemetry options: parsed and checked as a user types them, turned into
 * skiffd's mesh settings, and passed on unchanged to the background skiffd of `--detach`.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { addMeshTelemetryOptions, meshTelemetryArgs, skiffdTelemetryOptions } from '../../../src/telemetry/mesh-cli-options.js';
import type { MeshTelemetryCliOptions } from '../../../src/telemetry/mesh-cli-options.js';

function parse(args: string[]): MeshTelemetryCliOptions {
  const cmd = addMeshTelemetryOptions(new Command('up').exitOverride().configureOutput({ writeErr: () => undefined }));
  cmd.parse(args, { from: 'user' });
  return cmd.opts<MeshTelemetryCliOptions>();
}

describe('skiff up telemetry options', () => {
  test('become the mesh settings, and the same arguments again for --detach', () => {
    const args = ['--trace-sampling', '100', '--zipkin-url', 'http://127.0.0.1:9411/api/v2/spans', '--otlp-url', 'http://127.0.0.1:4318/v1/traces', '--access-log'];
    const opts = parse(args);
    assert.deepEqual(skiffdTelemetryOptions(opts), {
      mesh: { telemetry: { sampling: 100, zipkinUrl: 'http://127.0.0.1:9411/api/v2/spans', otlpUrl: 'http://127.0.0.1:4318/v1/traces', accessLog: { enabled: true } } },
    });
    assert.deepEqual(meshTelemetryArgs(opts), args);
    assert.deepEqual(skiffdTelemetryOptions(parse([])), {});
    assert.deepEqual(meshTelemetryArgs(parse([])), []);
  });

  test('a bad value is refused naming what is wrong', () => {
    assert.throws(() => parse(['--trace-sampling', '150']), /percentage 0\.\.100/);
    assert.throws(() => parse(['--zipkin-url', 'zipkin:9411']), /http or https|not a URL/);
  });
});
