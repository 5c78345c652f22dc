/**
 * `kmodkit lsmod`: kmod's lsmod output from /proc/modules and /sys/module
 * (`--json` for listModules()'s records; `--root DIR` reads DIR/proc, DIR/sys).
 */
import { isKmodkitError } from '../../lib/errors.js';
import { listModules } from '../../lib/load/list.js';
import { formatLsmod } from '../format/lsmod.js';
import { scanArgs } from '../getopt.js';
import { stdio, type LoadCliIo } from './insmod.js';

const SPEC = { short: { h: 'help', V: 'version' }, long: { json: false, root: true, help: false, version: false } };

export async function runLsmod(args: readonly string[], io: LoadCliIo = stdio): Promise<number> {
  const prog = 'lsmod';
  const r = scanArgs(args, SPEC, prog);
  if (r.error) {
    io.err(`${r.error}\n`);
    return 1;
  }
  if (r.opts.some((o) => o.name === 'help')) {
    io.out('Usage: kmodkit lsmod [--json] [--root DIR]\n');
    return 0;
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
