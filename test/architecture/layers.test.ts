/**
 * The layering of `src/` (`floors.ts`): each folder imports only the folders below it, the proxy
 * and the control plane meet only in `src/snapshot`, and no files import each other in a loop.
 * The same check is run on a small source tree built to break every rule once, so a check that stopped
 * seeing imports would fail here too.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { repoRoot } from '../helpers/cli.js';
import { FLOORS, checkFloors } from './floors.js';

describe('floors of src/', () => {
  test('every import of src/ keeps to its floor, stays in src/, resolves, and closes no loop', async () => {
    const problems = await checkFloors(repoRoot);
    assert.deepEqual(problems, [], `the floors are broken:\n${problems.join('\n')}`);
  });

  test('the proxy and the control plane share only the contract: neither floor names the other, nor the CLI', () => {
    assert.ok(!FLOORS.proxy.includes('controlplane') && !FLOORS.controlplane.includes('proxy'));
    for (const [folder, allowed] of Object.entries(FLOORS)) if (folder !== 'cli') assert.ok(!allowed.includes('cli'), `src/${folder} may import the CLI`);
    assert.deepEqual(FLOORS.snapshot, ['api']);
    for (const folder of ['runtime', 'dashboard', 'cli']) assert.ok(!FLOORS.proxy.includes(folder), `src/proxy may import src/${folder}`);
  });

  describe('a source tree that breaks each rule once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-floors-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const write = (path: string, text: string): void => {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    };
    write('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true }, include: ['src/**/*.ts'] }));
    write('samples/lib/tool.ts', 'export const tool = 1;\n');
    write('src/api/kind.ts', 'export interface Kind { name: string }\n');
    write('src/snapshot/contract.ts', "import type { Kind } from '../api/kind.js';\nexport type Contract = Kind;\n");
    write('src/controlplane/plane.ts', "import type { Contract } from '../snapshot/contract.js';\nexport const plane = (c: Contract): string => c.name;\n");
    write('src/proxy/client.ts', "import { plane } from '../controlplane/plane.js';\nexport const client = plane;\n");
    write('src/proxy/fine.ts', "import type { Contract } from '../snapshot/contract.js';\nexport type Fine = Contract;\n");
    write('src/telemetry/a.ts', "import type { B } from './b.js';\nexport interface A { b?: B }\n");
    write('src/telemetry/b.ts', "import type { A } from './a.js';\nexport interface B { a?: A }\n");
    write('src/runtime/images.ts', "import { tool } from '../../samples/lib/tool.js';\nexport const images = tool;\n");
    write('src/registry/missing.ts', "import { gone } from './gone.js';\nexport const missing = gone;\n");
    write('src/unplaced/informer.ts', "import type { Kind } from '../api/kind.js';\nexport type Informer = Kind;\n");

    test('each broken rule is named with the importing file and the imported one; what keeps the rules is not', async () => {
      const problems = await checkFloors(dir);
      const expected: [RegExp, string][] = [
        [/^src\/proxy\/client\.ts imports src\/controlplane\/plane\.ts: src\/proxy may import only src\/capture, src\/snapshot, src\/telemetry, src\/api \(floor of src\/proxy\)$/, 'a forbidden floor'],
        [/^src\/telemetry\/a\.ts imports src\/telemetry\/b\.ts, which leads back to it \(src\/telemetry\/a\.ts -> src\/telemetry\/b\.ts -> src\/telemetry\/a\.ts\)/, 'a cycle'],
        [/^src\/runtime\/images\.ts imports samples\/lib\/tool\.ts: src\/ imports nothing outside src\/ but packages$/, 'an import of samples/'],
        [/^src\/registry\/missing\.ts imports \.\/gone\.js, which cannot be resolved/, 'an unresolvable import'],
        [/^src\/unplaced\/informer\.ts is in no folder of the floors/, 'a folder without a floor'],
      ];
      for (const [pattern, what] of expected) assert.ok(problems.some((p) => pattern.test(p)), `${what} not reported; the check said:\n${problems.join('\n')}`);
      assert.ok(!problems.some((p) => p.startsWith('src/proxy/fine.ts') || p.startsWith('src/controlplane/plane.ts') || p.startsWith('src/snapshot/')), problems.join('\n'));
    });
  });
});
