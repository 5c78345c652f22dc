/**
 * `kmodkit rmmod [-f] [-w] NAME...`: kmod's rmmod (pre-checks, then
 * delete_module with O_NONBLOCK; -f adds O_TRUNC and skips the checks; -w
 * clears O_NONBLOCK). Each argument is processed; exit 1 if any failed.
 */
import { isKmodkitError } from '../../lib/errors.js';
import { strerror } from '../../lib/errno.js';
import { unloadModule } from '../../lib/load/loader.js';
import { scanOrComplain, stdio, type LoadCliIo } from './insmod.js';

const SPEC = {
  short: { f: 'force', w: 'wait', s: 'syslog', v: 'verbose', V: 'version', h: 'help' },
  long: { force: false, wait: false, syslog: false, verbose: false, version: false, help: false },
};

export async function runRmmod(args: readonly string[], io: LoadCliIo = stdio): Promise<number> {
  const prog = 'rmmod';
  const r = scanOrComplain(args, SPEC, prog, io);
  if (!r) return 1;
  const has = (n: string) => r.opts.some((o) => o.name === n);
  if (has('help')) {
    io.out('Usage:\n\tkmodkit rmmod [options] modulename ...\nOptions:\n\t-f, --force       forces a module removal\n\t-w, --wait        clear O_NONBLOCK\n\t-h, --help        show this help\n');
    return 0;
  }
  if (r.positionals.length === 0) {
    io.err(`${prog}: ERROR: missing module name.\n`);
    return 1;
  }
  let failed = false;
  for (const arg of r.positionals) {
    try {
      await unloadModule(arg, { force: has('force'), wait: has('wait') });
    } catch (e) {
      failed = true;
      if (isKmodkitError(e) && e.code === 'ESYSCALL') {
        const k = e;
        const kmod = 'kmodMessage' in k.detail ? k.detail : undefined;
        const name = kmod?.module ?? arg;
        if (kmod?.precheck) io.err(`${prog}: ERROR: ${k.message}\n`);
        else {
          const text = strerror(k.errno === 'EWOULDBLOCK' ? 'EAGAIN' : k.errno ?? 'EIO');
          io.err(`${prog}: ERROR: could not remove '${name}': ${text}\n${prog}: ERROR: could not remove module ${arg}: ${text}\n`);
        }
      } else io.err(`${prog}: ERROR: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }
  return failed ? 1 : 0;
}
