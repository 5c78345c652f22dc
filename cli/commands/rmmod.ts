/**
 * `kmodkit rmmod [-f] [-w] NAME...`: kmod's rmmod (pre-checks, then
 * delete_module with O_NONBLOCK; -f adds O_TRUNC and skips the checks; -w
 * clears O_NONBLOCK). Each argument is processed; exit 1 if any failed.
 */
import { isKmodkitError } from '../../lib/errors.js';
import { strerror } from '../../lib/errno.js';
import { unloadModule } from '../../lib/load/loader.js';
import type { ModuleSyscalls } from '../../lib/load/syscalls.js';
import { helpOrVersion, kmodCompatOrComplain, scanOrComplain, stdio, type LoadCliIo } from './insmod.js';
import { HELP_ROW, KMOD_COMPAT_ROW, KMOD_SYSLOG_ROW, KMOD_VERBOSE_ROW, KMOD_VERSION_ROW, optSpec, type CommandHelp } from '../help.js';
import { toolLogPrefix } from '../../lib/kmod-compat.js';

export const RMMOD_HELP: CommandHelp = {
  usage: ['[options] modulename ...'],
  summary: `Unload modules as kmod's rmmod does: unless forced, refuse a module that is
builtin, not loaded or in use (holders, reference count), then delete_module
with O_NONBLOCK. Each name (or module file path) is processed in turn.`,
  options: [
    { long: 'force', short: 'f', describe: 'DANGEROUS: forces a module unload and may\ncrash your machine (O_TRUNC; CONFIG_MODULE_FORCE_UNLOAD)' },
    { long: 'wait', short: 'w', describe: "Clear O_NONBLOCK: wait until the module is unused\n(kmod 30's -w, removed in kmod 34)" },
    KMOD_SYSLOG_ROW,
    { ...KMOD_VERBOSE_ROW, describe: 'Accepted as kmod does (no extra messages)' },
    KMOD_VERSION_ROW,
    HELP_ROW,
    KMOD_COMPAT_ROW,
  ],
  kmod: `kmodkit keeps kmod 30's -w (and names it --wait); kmod 34 dropped it.`,
  exits: [[0, 'every module was removed'], [1, 'some module was not (an error line for each) or a usage error']],
  example: 'kmodkit rmmod hello',
};
const SPEC = optSpec(RMMOD_HELP);

/** `syscalls`: a syscall backend other than the kernel's (tests). */
export async function runRmmod(args: readonly string[], io: LoadCliIo = stdio, syscalls?: ModuleSyscalls): Promise<number> {
  const prog = 'rmmod';
  const r = scanOrComplain(args, SPEC, prog, io);
  if (!r) return 1;
  const has = (n: string) => r.opts.some((o) => o.name === n);
  const asked = helpOrVersion(r.opts, prog, RMMOD_HELP, io);
  if (asked !== undefined) return asked;
  const compat = kmodCompatOrComplain(r.opts, prog, io);
  if (compat === undefined) return 1;
  if (r.positionals.length === 0) {
    io.err(`${prog}: ERROR: missing module name.\n`);
    return 1;
  }
  // libkmod's kmod_module_remove_module logs the first line of a failed delete_module
  const removeError = toolLogPrefix(compat, prog, { file: 'libkmod-module.c', line30: 856, fn: 'kmod_module_remove_module' });
  let failed = false;
  for (const arg of r.positionals) {
    try {
      await unloadModule(arg, { force: has('force'), wait: has('wait'), ...(syscalls ? { syscalls } : {}) });
    } catch (e) {
      failed = true;
      if (isKmodkitError(e) && e.code === 'ESYSCALL') {
        const k = e;
        const kmod = 'kmodMessage' in k.detail ? k.detail : undefined;
        const name = kmod?.module ?? arg;
        if (kmod?.precheck) io.err(`${prog}: ERROR: ${k.message}\n`);
        else {
          const text = strerror(k.errno === 'EWOULDBLOCK' ? 'EAGAIN' : k.errno ?? 'EIO');
          io.err(`${removeError}could not remove '${name}': ${text}\n${prog}: ERROR: could not remove module ${arg}: ${text}\n`);
        }
      } else io.err(`${prog}: ERROR: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }
  return failed ? 1 : 0;
}
