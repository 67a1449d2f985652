/** The `--state-dir` option shared by the verbs that act on skiffd or its state directory. */
import type { Command } from 'commander';

export const STATE_DIR_HELP = 'state directory of skiffd and the config store (default: .skiff under the working directory, or $SKIFF_STATE_DIR)';

/** Adds `--state-dir <dir>` to `cmd`. */
export function withStateDir(cmd: Command): Command {
  return cmd.option('--state-dir <dir>', STATE_DIR_HELP);
}
