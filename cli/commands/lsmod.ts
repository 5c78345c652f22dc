/**
 * `kmodkit lsmod`: kmod's lsmod output from /proc/modules and /sys/module
 * (`--json` for listModules()'s records; `--root DIR` reads DIR/proc, DIR/sys).
 * Options: LSMOD_HELP.
 */
import { isKmodkitError } from '../../lib/errors.js';
import { strerror } from '../../lib/errno.js';
import { listModules } from '../../lib/load/list.js';
import { moduleRefcnt } from '../../lib/io/sysfs.js';
import { formatLsmod } from '../format/lsmod.js';
import { scanArgs } from '../getopt.js';
import { HELP_ROW, KMOD_COMPAT_ROW, KMOD_SYSLOG_ROW, KMOD_VERBOSE_ROW, KMOD_VERSION_ROW, optSpec, type CommandHelp } from '../help.js';
import { libkmodLogPrefix, toolLogPrefix } from '../../lib/kmod-compat.js';
import { helpOrVersion, kmodCompatOrComplain, stdio, type LoadCliIo } from './insmod.js';

export const LSMOD_HELP: CommandHelp = {
  usage: ['[options]'],
  summary: `List the loaded modules from /proc/modules and /sys/module exactly as kmod's
lsmod prints them (Module, Size, Used by).`,
  options: [
    KMOD_SYSLOG_ROW,
    { ...KMOD_VERBOSE_ROW, describe: 'Accepted as kmod does (no extra messages)' },
    KMOD_VERSION_ROW,
    HELP_ROW,
    KMOD_COMPAT_ROW,
    { long: 'json', describe: 'The list as JSON: size, holders, state, taint, parameters', kmodkit: true },
    { long: 'root', arg: 'DIR', describe: 'Read DIR/proc/modules and DIR/sys/module', kmodkit: true },
  ],
  kmod: `kmod 30's lsmod takes no options at all (any argument prints "Usage: lsmod",
which kmodkit prints for a stray argument with --kmod-compat=30; kmod 34.2 says
"too many arguments provided"); kmodkit accepts kmod 34's -s -v -V -h and adds
--json and --root. A holder is printed by its module name as kmod prints it
(a hidden entry such as .gitkeep becomes an empty name).`,
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
  const asked = helpOrVersion(r.opts, prog, LSMOD_HELP, io);
  if (asked !== undefined) return asked;
  const kmod = kmodCompatOrComplain(r.opts, prog, io);
  if (kmod === undefined) return 1;
  if (r.positionals.length > 0) {
    io.err(kmod === '30' ? `Usage: ${prog}\n` : `${prog}: ERROR: too many arguments provided.\n`);
    return 1;
  }
  const root = r.opts.find((o) => o.name === 'root')?.value ?? '';
  // kmod 30's lsmod leaves libkmod's own logger in place; kmod 34's logs libkmod's errors as its own
  const libkmod = (file: string, line30: number, fn: string): string =>
    kmod === '30' ? libkmodLogPrefix(kmod, { file, line30, fn }) : toolLogPrefix(kmod, prog, { file, line30, fn });
  try {
    const list = listModules({ root });
    if (r.opts.some((o) => o.name === 'json')) {
      io.out(JSON.stringify(list, null, 2) + '\n');
      return 0;
    }
    // kmod_module_get_refcnt: -errno when /sys/module/NAME/refcnt cannot be read (the listing falls back to /proc)
    const shown = list.map((m) => (m.sysfs && moduleRefcnt(m.name, root) === undefined ? { ...m, refcount: -2 } : m));
    const { stdout, stderr } = formatLsmod(shown, { root, holdersError: libkmod('libkmod-module.c', 1998, 'kmod_module_get_holders') });
    io.out(stdout);
    if (stderr) io.err(stderr);
    return 0;
  } catch (e) {
    const cause = strerror(isKmodkitError(e) && e.errno ? e.errno : 'EIO');
    io.err(`${libkmod('libkmod-module.c', 1725, 'kmod_module_new_from_loaded')}could not open ${root}/proc/modules: ${cause}\n`);
    io.err(kmod === '30' ? `Error: could not get list of modules: ${cause}\n` : `${prog}: ERROR: could not get list of modules: ${cause}\n`);
    return 1;
  }
}
