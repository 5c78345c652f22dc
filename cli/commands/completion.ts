/**
 * `kmodkit completion bash|zsh|fish`: the shell's completion script, made
 * from the same option tables as --help (cli/manual/completion.ts). The
 * package ships the same scripts in dist/completions/ (scripts/build-manual.mjs).
 */
import { completionScript, loadTables, SHELLS, type Shell } from '../manual/completion.js';
import { Output } from '../format/output.js';
import { scanArgs } from '../getopt.js';
import { HELP_ROW, helpText, optSpec, VERSION_ROW, type CommandHelp } from '../help.js';
import type { CommandEntry } from '../command-entry.js';
import { kmodkitVersion, kmodkitVersionText } from '../version.js';

const PROG = 'kmodkit completion';
export const COMPLETION_HELP: CommandHelp = {
  usage: ['bash|zsh|fish'],
  summary: `Print the completion script for bash, zsh or fish: commands, options, the
values of options with a fixed set, files, kernel releases, module names and
loaded modules. Install it once where the shell looks (docs/cli.md):

bash: kmodkit completion bash > ~/.local/share/bash-completion/completions/kmodkit;
zsh: kmodkit completion zsh > "\${fpath[1]}/_kmodkit";
fish: kmodkit completion fish > ~/.config/fish/completions/kmodkit.fish.
The package also ships them in dist/completions/.`,
  options: [HELP_ROW, VERSION_ROW],
  exits: [[0, 'the script was printed'], [2, 'usage error (no or unknown shell)']],
  example: 'kmodkit completion bash > ~/.local/share/bash-completion/completions/kmodkit',
};

/** `registry`: every command and the top-level help (cli/registry.ts, passed in by cli/index.ts so that no command imports the registry). */
export async function runCompletion(args: readonly string[], registry: { commands: readonly CommandEntry[]; top: CommandHelp }, out = new Output()): Promise<number> {
  const scanned = scanArgs(args, optSpec(COMPLETION_HELP), PROG);
  if (scanned.error) {
    out.error(scanned.error);
    return 2;
  }
  if (scanned.opts.length) {
    out.text(scanned.opts.some((o) => o.name === 'help') ? helpText(PROG, COMPLETION_HELP) : kmodkitVersionText());
    out.flush();
    return 0;
  }
  const shell = scanned.positionals[0];
  if (scanned.positionals.length !== 1 || !(SHELLS as readonly string[]).includes(shell)) {
    out.error(`${PROG}: name one shell: ${SHELLS.join(', ')}${shell !== undefined ? ` (not '${scanned.positionals.join(' ')}')` : ''}`);
    return 2;
  }
  out.text(completionScript(shell as Shell, { top: registry.top, commands: await loadTables(registry.commands) }, kmodkitVersion()));
  out.flush();
  return 0;
}
