/**
 * `kmodkit depmod`: kmod 30's depmod interface and output
 * ([-a] [-A] [-b BASEDIR] [-o OUTDIR] [-C CONFIG] [-e] [-E Module.symvers]
 * [-F System.map] [-n] [-v] [-w] [-P PREFIX] [VERSION] [FILES…]).
 */
import { release } from 'node:os';
import { resolve } from 'node:path';
import { isKmodkitError } from '../../lib/errors.js';
import { depfileUpToDate, runDepmodTree } from '../../lib/io/depmod-tree.js';
import { scanArgs } from '../getopt.js';

const SPEC = {
  short: { a: 'all', A: 'quick', b: 'basedir', C: 'config', E: 'symvers', F: 'filesyms', e: 'errsyms', v: 'verbose', n: 'show', P: 'symbol-prefix', w: 'warn', u: 'unresolved-error', q: 'quiet', r: 'root', m: 'map', h: 'help', V: 'version' },
  long: {
    all: false, quick: false, basedir: true, config: true, symvers: true, filesyms: true, errsyms: false, verbose: false, show: false, 'dry-run': false,
    'symbol-prefix': true, warn: false, 'unresolved-error': false, quiet: false, root: false, map: false, help: false, version: false,
  },
};

const USAGE = `Usage:
	kmodkit depmod -[aA] [options] [forced_version]

If no arguments (except options) are given, "depmod -a" is assumed

depmod will output a dependency list suitable for the modprobe utility.

Options:
	-a, --all            Probe all modules
	-A, --quick          Only does the work if there's a new module
	-e, --errsyms        Report not supplied symbols
	-n, --show           Write the dependency file on stdout only
	-P, --symbol-prefix  Architecture symbol prefix
	-C, --config=PATH    Read configuration from PATH
	-v, --verbose        Enable verbose mode
	-w, --warn           Warn on duplicates
	-V, --version        show version
	-h, --help           show this help

The following options are useful for people managing distributions:
	-b, --basedir=DIR    Use an image of a module tree.
	-F, --filesyms=FILE  Use the file instead of the
	                     current kernel symbols.
	-E, --symvers=FILE   Use Module.symvers file to check
	                     symbol versions.
`;

export interface DepmodCliIo {
  out(data: string | Uint8Array): void;
  err(s: string): void;
}
const stdio: DepmodCliIo = { out: (d) => { process.stdout.write(d); }, err: (s) => { process.stderr.write(s); } };

export async function runDepmod(args: readonly string[], io: DepmodCliIo = stdio): Promise<number> {
  const r = scanArgs(args, SPEC, 'depmod');
  if (r.error) {
    io.err(`${r.error}\n`);
    return 1;
  }
  let all = false, quick = false, root: string | undefined, show = false, printUnknown = false, warn = false, verbose = false;
  let symvers: string | undefined, systemMap: string | undefined, prefix = '';
  const configPaths: string[] = [];
  for (const o of r.opts) {
    switch (o.name) {
      case 'all': all = true; break;
      case 'quick': quick = true; break;
      case 'basedir': root = resolve(o.value!); break;
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
      case 'help': io.out(USAGE); return 0;
      case 'version': io.out('kmod version 30\n+ZSTD +XZ -ZLIB +LIBCRYPTO -EXPERIMENTAL\n'); return 0;
      default: io.err(`depmod: WARNING: Ignored deprecated option --${o.name}\n`);
    }
  }
  const pos = [...r.positionals];
  let kversion: string;
  if (pos.length) {
    if (!/^\d+\.\d+/.test(pos[0])) { io.err(`depmod: ERROR: Bad version passed ${pos[0]}\n`); return 1; }
    kversion = pos.shift()!;
  } else kversion = release();
  const dirname = `${root ?? ''}/lib/modules/${kversion}`;
  if (pos.length === 0) all = true;
  if (quick) {
    if (show) return 0;
    if (depfileUpToDate(dirname)) return 0;
    all = true;
  }
  try {
    const res = await runDepmodTree({
      dirname, kversion, configPaths: configPaths.length ? configPaths : undefined, files: all ? undefined : pos,
      symvers, systemMap, printUnknown, warnDups: warn, symbolPrefix: prefix, toStdout: show, verbose,
    });
    for (const line of res.stderr) io.err(line + '\n');
    for (const chunk of res.stdout) io.out(chunk);
    return res.exitCode;
  } catch (e) {
    io.err(`depmod: FATAL: ${isKmodkitError(e) ? e.message : String(e)}\n`);
    return 1;
  }
}
