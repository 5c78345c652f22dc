/**
 * `kmodkit depmod`: kmod's depmod interface and output, kmod 34.2's by
 * default and kmod 30's with --kmod-compat=30 ([-a] [-A] [-b BASEDIR]
 * [-m MODULEDIR] [-o OUTDIR] [-C CONFIG] [-e] [-E Module.symvers]
 * [-F System.map] [-n] [-v] [-w] [-P PREFIX] [VERSION] [FILES…]; DEPMOD_HELP).
 */
import { resolve } from 'node:path';
import { isKmodkitError } from '../../lib/errors.js';
import { depfileUpToDate, runDepmodTree } from '../../lib/io/depmod-tree.js';
import { unameRelease } from '../../lib/io/sysfs.js';
import type { OptSpec } from '../getopt.js';
import { scanArgs } from '../getopt.js';
import { HELP_ROW, helpText, KMOD_COMPAT_ROW, KMOD_VERSION_ROW, optSpec, type CommandHelp } from '../help.js';
import { resolveKmodCompat } from '../kmod-compat.js';
import { kmodVersionText } from '../version.js';

const OLD = "Deprecated (kmod 30 accepts and ignores them; kmod 34 removed them)";
/** kmod's depmod options, in its cmdopts order (getopt lists ambiguities in that order). */
export const DEPMOD_HELP: CommandHelp = {
  usage: ['-[aA] [options] [forced_version] [FILES...]'],
  summary: `Write modules.dep, modules.alias, modules.symbols, modules.devname,
modules.softdep, modules.weakdep and the .bin indexes (with
modules.builtin.bin and modules.builtin.alias.bin) for /lib/modules/VERSION,
byte-identical to kmod 34.2's depmod (to kmod 30's with --kmod-compat=30: no
modules.weakdep, and each .bin index node after its children). If no
arguments (except options) are given, "depmod -a" is assumed; FILES limits
the run to those modules.`,
  options: [
    { long: 'all', short: 'a', describe: 'Probe all modules' },
    { long: 'quick', short: 'A', describe: "Only does the work if there's a new module" },
    { long: 'basedir', short: 'b', arg: 'DIR', describe: 'Use an image of a module tree: DIR/lib/modules/VERSION' },
    { long: 'moduledir', short: 'm', arg: 'DIR', describe: 'Module directory under the root (default /lib/modules; kmod 34)' },
    { long: 'outdir', short: 'o', arg: 'DIR', describe: 'Output root path (default: same as the basedir; kmod 34)' },
    { long: 'config', short: 'C', arg: 'PATH', describe: 'Read configuration from PATH (repeatable)' },
    { long: 'symvers', short: 'E', arg: 'FILE', describe: 'Use Module.symvers file to check symbol versions' },
    { long: 'filesyms', short: 'F', arg: 'FILE', describe: 'Use the file (System.map) instead of the\ncurrent kernel symbols' },
    { long: 'errsyms', short: 'e', describe: 'Report not supplied symbols' },
    { long: 'verbose', short: 'v', describe: 'Enable verbose mode' },
    { long: 'show', short: 'n', describe: 'Write the dependency file on stdout only' },
    { long: 'dry-run', describe: 'Same as --show' },
    { long: 'symbol-prefix', short: 'P', arg: 'CHAR', describe: 'Architecture symbol prefix' },
    { long: 'warn', short: 'w', describe: 'Warn on duplicates' },
    KMOD_VERSION_ROW,
    HELP_ROW,
    KMOD_COMPAT_ROW,
    { long: 'no-cache', describe: 'Neither read nor write modules.kmodkit.cache (the module facts)', kmodkit: true },
    { group: OLD, long: 'unresolved-error', short: 'u', describe: 'Ignored, with a warning' },
    { group: OLD, long: 'quiet', short: 'q', describe: 'Ignored, with a warning' },
    { group: OLD, long: 'root', short: 'r', describe: 'Ignored, with a warning' },
    { group: OLD, long: 'map', describe: 'Ignored, with a warning (-m with --kmod-compat=30)' },
  ],
  kmod: `kmodkit accepts kmod 30's deprecated -u, -q, -r and --map in both modes (kmod 34
rejects them). With --kmod-compat=30 (or KMODKIT_KMOD_COMPAT=30), -m is kmod 30's
deprecated --map, not --moduledir. kmodkit keeps what it read of each module in
modules.kmodkit.cache next to the indexes, so that a later run reads only the
modules that changed (the files written are those of a full run); worker threads
read the modules of a large .ko.xz tree (KMODKIT_DEPMOD_WORKERS=N). A run that cannot
write every file leaves the previous ones in place.`,
  exits: [[0, 'the indexes were written (or printed)'], [1, 'an error (bad version, unreadable tree or configuration, a usage error)']],
  example: 'kmodkit depmod -b /tmp/root 6.1.0-56-amd64',
};
const SPEC = optSpec(DEPMOD_HELP);
/** kmod 30's spec: -m is its deprecated --map (no argument); no --moduledir/-m DIR, no --outdir/-o (kmod 31+). */
const SPEC_30: OptSpec = {
  long: Object.fromEntries(Object.entries(SPEC.long).filter(([n]) => n !== 'moduledir' && n !== 'outdir')),
  short: Object.fromEntries(Object.entries({ ...SPEC.short, m: 'map' }).filter(([c]) => c !== 'o')),
};

export interface DepmodCliIo {
  out(data: string | Uint8Array): void;
  err(s: string | Uint8Array): void;
}
const stdio: DepmodCliIo = { out: (d) => { process.stdout.write(d); }, err: (s) => { process.stderr.write(s); } };

export async function runDepmod(args: readonly string[], io: DepmodCliIo = stdio): Promise<number> {
  let r = scanArgs(args, SPEC, 'depmod');
  let compatOption: string | undefined;
  for (const o of r.opts) if (o.name === 'kmod-compat') compatOption = o.value;
  const compat = resolveKmodCompat(compatOption);
  if ('error' in compat) {
    io.err(`depmod: ERROR: ${compat.error}\n`);
    return 1;
  }
  if (compat.compat === '30') r = scanArgs(args, SPEC_30, 'depmod');
  if (r.error) {
    io.err(`${r.error}\n`);
    return 1;
  }
  let moduledir = '/lib/modules', outRoot: string | undefined, cache = true;
  let all = false, quick = false, root: string | undefined, show = false, printUnknown = false, warn = false, verbose = false;
  let symvers: string | undefined, systemMap: string | undefined, prefix = '';
  const configPaths: string[] = [];
  for (const o of r.opts) {
    switch (o.name) {
      case 'all': all = true; break;
      case 'quick': quick = true; break;
      case 'basedir': root = resolve(o.value!); break;
      case 'moduledir': moduledir = o.value!; break;
      case 'outdir': outRoot = resolve(o.value!); break;
      case 'kmod-compat': break;
      case 'no-cache': cache = false; break;
      case 'config': configPaths.push(o.value!); break;
      case 'symvers': symvers = o.value; break;
      case 'filesyms': systemMap = o.value; break;
      case 'errsyms': printUnknown = true; break;
      case 'show': case 'dry-run': show = true; break;
      case 'warn': warn = true; break;
      case 'verbose': verbose = true; break;
      case 'symbol-prefix':
        if (o.value!.length !== 1) { io.err('depmod: FATAL: -P only takes a single char\n'); return 1; }
        prefix = o.value!;
        break;
      case 'help': io.out(helpText('kmodkit depmod', DEPMOD_HELP)); return 0;
      case 'version': io.out(kmodVersionText(compat.compat)); return 0;
      // kmod 30 names what was typed: -m, or --map
      default: io.err(`depmod: WARNING: Ignored deprecated option ${o.short ? `-${o.short}` : `--${o.name}`}\n`);
    }
  }
  const pos = [...r.positionals];
  let kversion: string;
  if (pos.length) {
    if (!/^\d+\.\d+/.test(pos[0])) { io.err(`depmod: ERROR: Bad version passed ${pos[0]}\n`); return 1; }
    kversion = pos.shift()!;
  } else kversion = unameRelease();
  // kmod 34: the module directory is always relative to the basedir (and the outdir)
  const moduleDirectory = moduledir.replace(/^\/+/, '');
  const dirname = `${root ?? ''}/${moduleDirectory}/${kversion}`;
  const outDirname = outRoot !== undefined ? `${outRoot}/${moduleDirectory}/${kversion}` : undefined;
  if (pos.length === 0) all = true;
  if (quick) {
    if (show) return 0;
    if (depfileUpToDate(dirname)) return 0;
    all = true;
  }
  // KMODKIT_DEPMOD_WORKERS=N: N worker threads for reading modules (0: the main thread only); unset: by the work
  const workersEnv = process.env.KMODKIT_DEPMOD_WORKERS;
  const workers = workersEnv !== undefined && /^\d{1,2}$/.test(workersEnv) ? Number(workersEnv) : undefined;
  try {
    const res = await runDepmodTree({
      dirname, kversion, configPaths: configPaths.length ? configPaths : undefined, files: all ? undefined : pos,
      symvers, systemMap, printUnknown, warnDups: warn, symbolPrefix: prefix, toStdout: show, verbose,
      kmod: compat.compat, cache, ...(workers !== undefined ? { workers } : {}), ...(outDirname !== undefined ? { outDirname } : {}),
    });
    // the library's lines are byte strings: written as the bytes they stand for
    for (const line of res.stderr) io.err(Buffer.from(line + '\n', 'latin1'));
    for (const chunk of res.stdout) io.out(chunk);
    return res.exitCode;
  } catch (e) {
    io.err(`depmod: FATAL: ${isKmodkitError(e) ? e.message : String(e)}\n`);
    return 1;
  }
}
