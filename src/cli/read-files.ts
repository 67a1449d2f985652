/**
 * Reads the `-f` inputs of apply, delete and up into texts, turning unreadable paths into
 * findings so they are reported like any other problem with the input.
 */
import type { Finding } from '../config/finding.js';
import { readInputs } from '../config/sources.js';
import type { InputText } from '../config/sources.js';

export interface ReadFiles {
  inputs: InputText[];
  /** Names in the order read, for sorting findings. */
  files: string[];
  /** One error finding per path that could not be read. */
  errors: Finding[];
}

export async function readFileArgs(paths: readonly string[]): Promise<ReadFiles> {
  const { inputs, errors } = await readInputs(paths);
  return {
    inputs,
    files: [...inputs.map((i) => i.name), ...errors.map((e) => e.name)],
    errors: errors.map((e) => ({ severity: 'error', path: [], message: `cannot read: ${e.message}`, file: e.name, origin: 'read' })),
  };
}
