/**
 * `kmodkit lsmod`: kmod's lsmod output from /proc/modules and /sys/module
 * (`--json` for listModules()'s records; `--root DIR` reads DIR/proc, DIR/sys).
 * Options: LSMOD_HELP.
 */
import { isKmodkitError } from '../../lib/errors.js';
import { listModules } from '../../lib/load/list.js';
import { formatLsmod } from '../format/lsmod.js';
import { scanArgs } from '../getopt.js';
import { HELP_ROW, helpText, KMOD_SYSLOG_ROW, KMOD_VERBOSE_ROW, KMOD_VERSION_ROW, optSpec, type CommandHelp } from '../help.js';
import { kmodVersionOutput } from '../kmod-compat.js';
import { stdio, type LoadCliIo } from './insmod.js';

export const LSMOD_HELP: CommandHelp = {
  usage: ['[options]'],
  summary: `List the loaded modules from /proc/modules and /sys/module exactly as kmod's
lsmod prints them (Module, Size, Used by).`,
  options: [
    KMOD_SYSLOG_ROW,
    { ...KMOD_VERBOSE_ROW, describe: 'Accepted as kmod does (no extra messages)' },
    KMOD_VERSION_ROW,
    HELP_ROW,
    { long: 'json', describe: 'The list as JSON: size, holders, state, taint, parameters', kmodkit: true },
    { long: 'root', arg: 'DIR', describe: 'Read DIR/proc/modules and DIR/sys/module', kmodkit: true },
  ],
  kmod: `kmod 30's lsmod takes no options at all (any argument prints "Usage: lsmod");
kmodkit accepts kmod 34's -s -v -V -h and adds --json and --root.`,
  exits: [[0, 'the list was printed'], [1, '/proc/modules could not be read, or a usage error']],
  example: "kmodkit lsmod --json | jq -r '.[].name'",
};
const SPEC = optSpec(LSMOD_HELP);

export async function runLsmod(args: readonly string[], io: LoadCliIo = stdio): Promise<number> {
  const prog = 'lsmod';
  const r = scanArgs(args, SPEC, prog);
  if (r.error) {
    io.err(`${r.error}\n`);
    return 1;
  }
  if (r.opts.some((o) => o.name === 'help')) {
    io.out(helpText('kmodkit lsmod', LSMOD_HELP));
    return 0;
  }
  if (r.opts.some((o) => o.name === 'version')) {
    const v = kmodVersionOutput(r.opts);
    if ('error' in v) io.err(`${prog}: ERROR: ${v.error}\n`);
    else io.out(v.text);
    return 'error' in v ? 1 : 0;
  }
  if (r.positionals.length > 0) {
    io.err(`Usage: ${prog}\n`);
    return 1;
  }
  const root = r.opts.find((o) => o.name === 'root')?.value ?? '';
  try {
    const list = listModules({ root });
    if (r.opts.some((o) => o.name === 'json')) {
      io.out(JSON.stringify(list, null, 2) + '\n');
      return 0;
    }
    const { stdout, stderr } = formatLsmod(list, { root });
    io.out(stdout);
    if (stderr) io.err(stderr);
    return 0;
  } catch (e) {
    // kmod 30: libkmod's "could not open /proc/modules: ..." then the tool's line.
    const msg = isKmodkitError(e) ? e.message : String(e);
    io.err(`${prog}: ERROR: ${msg}\nError: could not get list of modules: ${msg.replace(/^.*: /, '')}\n`);
    return 1;
  }
}
