/**
 * The runtime's bootstrap tokens: one per pod, in a file only the user can read, mapped to the
 * pod's namespace and service account; kept for an adopted pod, withdrawn when the pod stops.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, it } from 'node:test';
import { PodCredentials, credentialsDir } from '../../src/runtime/credentials.js';
import { proxyArgv } from '../../src/runtime/plans.js';

const stateDir = mkdtempSync(join(tmpdir(), 'skiff-cred-'));
after(() => rmSync(stateDir, { recursive: true, force: true }));

it('gives each pod its own token file (0600 in a 0700 directory) that proves its namespace and service account', () => {
  const creds = new PodCredentials(stateDir);
  const file = creds.issue({ namespace: 'foo', pod: 'curl-1', serviceAccount: 'curl' });
  const other = creds.issue({ namespace: 'bar', pod: 'curl-1', serviceAccount: 'curl' });
  assert.notEqual(file, other);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(dirname(file)).mode & 0o777, 0o700);
  assert.equal(statSync(credentialsDir(stateDir)).mode & 0o777, 0o700);
  const token = readFileSync(file, 'utf8').trim();
  assert.ok(token.length >= 43, 'at least 256 random bits');
  assert.deepEqual(creds.lookup(token), { namespace: 'foo', pod: 'curl-1', serviceAccount: 'curl' });
  assert.deepEqual(creds.lookup(readFileSync(other, 'utf8').trim()), { namespace: 'bar', pod: 'curl-1', serviceAccount: 'curl' });
  assert.equal(creds.lookup(`${token}x`), undefined);
  assert.equal(creds.lookup(''), undefined);
});

it("keeps an adopted pod's token (its running proxy still reads it) and withdraws it when the pod stops", () => {
  const first = new PodCredentials(stateDir);
  const file = first.issue({ namespace: 'foo', pod: 'httpbin-1', serviceAccount: 'httpbin' });
  const token = readFileSync(file, 'utf8').trim();
  // A runtime started after the first one died adopts the pod.
  const next = new PodCredentials(stateDir);
  assert.equal(next.lookup(token), undefined, 'a new runtime knows no token before it adopts the pod');
  assert.equal(next.issue({ namespace: 'foo', pod: 'httpbin-1', serviceAccount: 'httpbin' }), file);
  assert.equal(readFileSync(file, 'utf8').trim(), token);
  assert.equal(next.lookup(token)?.serviceAccount, 'httpbin');
  next.revoke('foo', 'httpbin-1');
  assert.equal(next.lookup(token), undefined);
  assert.equal(existsSync(file), false);
});

it("names the credential file in the proxy's command line", () => {
  const argv = proxyArgv(['skiff'], 'http://127.0.0.1:15010', 'curl-1.foo', 15000, 'sidecar', { name: 'curl-1', namespace: 'foo', serviceAccount: 'curl', labels: {} }, '/s/t.token');
  assert.deepEqual(argv.slice(argv.indexOf('--credential-file'), argv.indexOf('--credential-file') + 2), ['--credential-file', '/s/t.token']);
});
