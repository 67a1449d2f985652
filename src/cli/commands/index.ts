/** Every verb of the CLI, one module each. Add a verb by adding its `register` here. */
import type { Command } from 'commander';
import { register as analyze } from './analyze.js';
import { register as proxy } from './proxy.js';
import { register as validate } from './validate.js';

type Register = (program: Command) => void;

const verbs: Register[] = [analyze, proxy, validate];

export function registerCommands(program: Command): void {
  for (const register of verbs) register(program);
}
