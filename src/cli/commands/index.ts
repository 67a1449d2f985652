/** Every verb of the CLI, one module each. Add a verb by adding its `register` here. */
import type { Command } from 'commander';

type Register = (program: Command) => void;

const verbs: Register[] = [];

export function registerCommands(program: Command): void {
  for (const register of verbs) register(program);
}
