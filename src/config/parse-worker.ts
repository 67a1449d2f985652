/**
 * The worker thread of `input-parser.ts`: reads files for apply or delete (YAML parsing,
 * validation) away from skiffd's event loop, one request at a time, and answers each with what
 * `store-input.ts` makes of them.
 */
import { parentPort } from 'node:worker_threads';
import { deleteTargets, loadForApply } from './store-input.js';
import type { ParseReply, ParseRequest } from './input-parser.js';

const port = parentPort;
if (port === null) throw new Error('parse-worker.js runs as a worker thread');

port.on('message', (req: ParseRequest) => {
  let reply: ParseReply;
  try {
    const result = req.op === 'apply' ? loadForApply(req.inputs, req.defaultNamespace) : deleteTargets(req.inputs, req.defaultNamespace);
    reply = { id: req.id, ok: true, result };
  } catch (err) {
    reply = { id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});
