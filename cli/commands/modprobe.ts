/**
 * `kmodkit modprobe NAME [name=value...]`: load a module and its
 * dependencies (modules.dep) through kmodkit's loader; `-r` removes it and
 * then its unused dependencies. Options: -n/--dry-run, -D/--show-depends
 * (`insmod <path> <opts>` lines like kmod, with a trailing space when there
 * are no options; `builtin <name>`), -b/--basedir and -d/--dirname (kmod
 * treats them alike), -S/--set-version, -f, --force-vermagic,
 * --force-modversion, --first-time, -q, --no-check. Messages and exit
 * status as kmod's modprobe.
 */
import { isKmodkitError, type KmodkitError } from '../../lib/errors.js';
import { lookupName, modulesDirPath, openModulesDir } from '../../lib/io/modules-dir.js';
import { modnameNormalize } from '../../lib/modindex/names.js';
import { isLoaded, loadModule, moduleInitState, unloadModule, type ForceOption } from '../../lib/load/loader.js';
import { buildParamsString } from '../../lib/load/params-string.js';
import { ModuleSet, type PlannedModule } from '../../lib/load/module-set.js';
import { scanArgs } from '../getopt.js';
import { reportLoadError, stdio, type LoadCliIo } from './insmod.js';

const SPEC = {
  short: { r: 'remove', n: 'dry-run', D: 'show-depends', b: 'basedir', d: 'dirname', S: 'set-version', f: 'force', q: 'quiet', v: 'verbose', a: 'all', h: 'help', V: 'version' },
  long: {
    remove: false, 'dry-run': false, 'show-depends': false, basedir: true, dirname: true, 'set-version': true, force: false,
    'force-vermagic': false, 'force-modversion': false, 'first-time': false, quiet: false, verbose: false, all: false,
    'no-check': false, help: false, version: false,
  },
};

export async function runModprobe(args: readonly string[], io: LoadCliIo = stdio): Promise<number> {
  const prog = 'modprobe';
  const r = scanArgs(args, SPEC, prog);
  if (r.error) {
    io.err(`${r.error}\n${prog}: FATAL: Unexpected getopt_long() value '?'.\n`);
    return 1;
  }
  const has = (n: string) => r.opts.some((o) => o.name === n);
  const val = (n: string) => [...r.opts].reverse().find((o) => o.name === n)?.value;
  if (has('help')) {
    io.out('Usage:\n\tkmodkit modprobe [options] [-r] [-i] [-S version] [-C config] modulename [module options]\n');
    return 0;
  }
  const basedir = val('basedir') ?? val('dirname') ?? '';
  const { dir } = modulesDirPath({ basedir, ...(val('set-version') ? { release: val('set-version') } : {}) });
  const [name, ...params] = r.positionals;
  if (name === undefined) {
    io.err(`${prog}: ERROR: missing parameters. See -h.\n`);
    return 1;
  }
  const quiet = has('quiet');
  const dry = has('dry-run') || has('show-depends');
  const force: ForceOption = has('force') ? true : { modversions: has('force-modversion'), vermagic: has('force-vermagic') };
  const md = openModulesDir(dir);
  const modname = modnameNormalize(name);

  if (has('remove')) return remove(prog, modname, md, dir, r.positionals.slice(0, has('all') ? undefined : 1), { dry, quiet, io });

  const found = lookupName(md, modname);
  if (!found) {
    if (!quiet) io.err(`${prog}: FATAL: Module ${name} not found in directory ${dir}\n`);
    return 1;
  }
  if (found.kind === 'builtin') {
    if (has('show-depends')) io.out(`builtin ${found.name}\n`);
    return 0;
  }
  let plan: PlannedModule[];
  try {
    plan = await new ModuleSet([modname], { modulesDir: dir, signals: false, exitHook: false }).plan();
  } catch (e) {
    io.err(`${prog}: FATAL: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  let options: string;
  try {
    options = buildParamsString(params);
  } catch (e) {
    io.err(`${prog}: ERROR: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  if (has('show-depends')) {
    for (const p of plan) io.out(`insmod ${p.path} ${p.requested ? options : ''}\n`);
    return 0;
  }
  for (const p of plan) {
    if (isLoaded(p.name)) {
      if (p.requested && has('first-time')) {
        if (!quiet) io.err(`${prog}: ERROR: could not insert '${p.name}': Module already in kernel\n`);
        return 1;
      }
      continue;
    }
    if (dry) continue;
    try {
      await loadModule(p.path, { ...(p.requested ? { params } : {}), force, check: !has('no-check'), modulesDir: dir, tool: 'modprobe' });
    } catch (e) {
      if (!quiet) reportLoadError(prog, e, io, { path: p.path, name: p.name, tool: 'modprobe' });
      return 1;
    }
  }
  return 0;
}

async function remove(prog: string, _first: string, md: ReturnType<typeof openModulesDir>, dir: string, names: readonly string[], o: { dry: boolean; quiet: boolean; io: LoadCliIo }): Promise<number> {
  let rc = 0;
  for (const raw of names) {
    const name = modnameNormalize(raw);
    const state = moduleInitState(name, { builtin: md.builtin() });
    if (state === 'builtin') {
      if (!o.quiet) o.io.err(`${prog}: FATAL: Module ${name} is builtin.\n`);
      return 1;
    }
    if (state === 'absent') {
      // kmod: a module that is not loaded is fine to "remove" unless it does not exist at all.
      if (!lookupName(md, name)) {
        if (!o.quiet) o.io.err(`${prog}: FATAL: Module ${name} not found.\n`);
        return 1;
      }
      continue;
    }
    let plan: PlannedModule[] = [];
    try {
      plan = await new ModuleSet([name], { modulesDir: dir, signals: false, exitHook: false }).plan();
    } catch {
      plan = [];
    }
    if (o.dry) continue;
    try {
      await unloadModule(name, {});
    } catch (e) {
      const k = e as KmodkitError;
      if (isKmodkitError(e) && k.detail?.precheck && k.errno === 'EWOULDBLOCK') {
        if (!o.quiet) o.io.err(`${prog}: FATAL: Module ${name} is in use.\n`);
        return 1;
      }
      if (!o.quiet) o.io.err(`${prog}: FATAL: ${isKmodkitError(e) ? e.message : String(e)}\n`);
      return 1;
    }
    // then the dependencies nobody uses any more, last-loaded first
    for (const p of [...plan].reverse()) {
      if (p.name === name || !isLoaded(p.name)) continue;
      try {
        await unloadModule(p.name, {});
      } catch {
        /* still in use: kmod leaves it too */
      }
    }
  }
  return rc;
}
