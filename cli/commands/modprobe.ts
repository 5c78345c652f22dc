/**
 * `kmodkit modprobe`: kmod's modprobe over kmodkit's resolution
 * (lib/modprobe) and loader; the configuration is read as kmod 34.2 reads it
 * (weakdep, modules.weakdep), or as kmod 30 with --kmod-compat=30. Options, messages and exit codes as kmod's
 * tools/modprobe.c: -a, -r (--remove-holders, -w), --first-time, -i, -b,
 * -f/--force-vermagic/--force-modversion, -R, -D/--show-depends,
 * -c/--showconfig, -n, -C, -d, -S, -s, -q, -v; MODPROBE_OPTIONS words come
 * before the command line. `--no-check` skips kmodkit's pre-flight check.
 * The options are MODPROBE_HELP's table.
 */
import { isKmodkitError, KmodkitError } from '../../lib/errors.js';
import { runShellCommand } from '../../lib/io/command.js';
import { modulesDirPath, openModulesDir, type ModulesDir } from '../../lib/io/modules-dir.js';
import { readModprobeConfig } from '../../lib/io/modprobe-config.js';
import { moduleHolders, moduleRefcnt } from '../../lib/io/sysfs.js';
import { splitModprobeOptions, type ModprobeConfig } from '../../lib/modprobe/config.js';
import { planProbe, planProbeFile, probeContext, removeInfo, resolveAliasNames, showConfig, type Plan, type PlanOptions, type ProbeContext } from '../../lib/modprobe/resolve.js';
import { statErrno } from '../../lib/io/paths.js';
import { strerror } from '../../lib/errno.js';
import { toolLogPrefix, type KmodCompat } from '../../lib/kmod-compat.js';
import { newLoadContext, type LoadContext } from '../../lib/load/context.js';
import { loadModule, type ForceOption } from '../../lib/load/load.js';
import { moduleInitState, unloadModule } from '../../lib/load/unload.js';
import type { ModuleSyscalls } from '../../lib/load/syscalls.js';
import { scanArgs } from '../getopt.js';
import { HELP_ROW, helpText, KMOD_COMPAT_ROW, KMOD_SYSLOG_ROW, KMOD_VERSION_ROW, optSpec, type CommandHelp } from '../help.js';
import { kmodVersionOutput, resolveKmodCompat } from '../kmod-compat.js';
import { reportLoadError, stdio, type LoadCliIo } from './insmod.js';

const M = 'Management options';
const Q = 'Query options';
const G = 'General options';
/** The option table (kmod's cmdopts, in an order that keeps getopt's ambiguity lists as kmod's). */
export const MODPROBE_HELP: CommandHelp = {
  usage: [
    '[options] [-i] [-b] modulename [module options]',
    '[options] -a [-i] [-b] modulename [modulename...]',
    '[options] -r [-i] modulename',
    '[options] -r -a [-i] modulename [modulename...]',
    '[options] -c',
    '[options] --dump-modversions filename',
  ],
  summary: `Add or remove modules by name or alias as kmod's modprobe does: modules.alias
wildcards, symbol: aliases, built-in modules, modprobe.d (options, alias,
blacklist, softdep, weakdep, install/remove), the kernel command line and
$MODPROBE_OPTIONS (whose words come before the command line). Dependencies are
loaded first, each after kmodkit's pre-flight check.`,
  options: [
    { group: M, long: 'all', short: 'a', describe: 'Consider every non-argument to be a module name\nto be inserted or removed (-r)' },
    { group: M, long: 'remove', short: 'r', describe: 'Remove modules instead of inserting' },
    { group: M, long: 'remove-dependencies', describe: 'Deprecated: use --remove-holders' },
    { group: M, long: 'remove-holders', describe: 'Also remove module holders (use together with -r)' },
    { group: M, long: 'wait', short: 'w', arg: 'MSEC', describe: "When removing a module, wait up to MSEC for the\nmodule's refcount to become 0 (use together with -r)" },
    { group: M, long: 'first-time', describe: 'Fail if module already inserted or removed' },
    { group: M, long: 'ignore-install', short: 'i', describe: 'Ignore install commands' },
    { group: M, long: 'ignore-remove', describe: 'Ignore remove commands (the same as -i)' },
    { group: M, long: 'use-blacklist', short: 'b', describe: 'Apply blacklist to resolved alias' },
    { group: M, long: 'force', short: 'f', describe: 'Force module insertion or removal;\nimplies --force-modversion and --force-vermagic' },
    { group: M, long: 'force-modversion', describe: "Ignore module's version" },
    { group: M, long: 'force-vermagic', describe: "Ignore module's version magic" },
    { group: M, long: 'no-check', describe: "Skip kmodkit's pre-flight check", kmodkit: true },
    { group: Q, long: 'resolve-alias', short: 'R', describe: 'Only lookup and print alias and exit' },
    { group: Q, long: 'show-depends', short: 'D', describe: 'Only print module dependencies and exit' },
    { group: Q, long: 'showconfig', short: 'c', describe: 'Print out known configuration and exit' },
    { group: Q, long: 'show-config', describe: 'Same as --showconfig' },
    { group: Q, long: 'show-modversions', describe: 'Dump module symbol version and exit' },
    { group: Q, long: 'dump-modversions', describe: 'Same as --show-modversions' },
    { group: Q, long: 'show-exports', describe: 'Only print module exported symbol versions and exit' },
    { group: G, long: 'dry-run', short: 'n', describe: 'Do not execute operations, just print out' },
    { group: G, long: 'show', describe: 'Same as --dry-run' },
    { group: G, long: 'config', short: 'C', arg: 'FILE', describe: 'Use FILE instead of default search paths' },
    { group: G, long: 'dirname', short: 'd', arg: 'DIR', describe: 'Use DIR as filesystem root for /lib/modules' },
    { group: G, long: 'set-version', short: 'S', arg: 'VERSION', describe: 'Use VERSION instead of `uname -r`' },
    { group: G, ...KMOD_SYSLOG_ROW },
    { group: G, ...KMOD_COMPAT_ROW },
    { group: G, long: 'quiet', short: 'q', describe: 'Disable messages' },
    { group: G, long: 'verbose', short: 'v', describe: 'Enables more messages' },
    { group: G, ...KMOD_VERSION_ROW },
    { group: G, ...HELP_ROW },
  ],
  kmod: `kmodkit follows kmod 34.2's modprobe by default and kmod 30's with
--kmod-compat=30 (or KMODKIT_KMOD_COMPAT=30): kmod 34.2 loads a module given
by path (/path/x.ko, ./x.ko; kmod 30 looks it up as an alias), parses weakdep
lines and modules.weakdep, reads no .alias file from a directory, and prints
libkmod's errors without a source line. Lookups read the binary indexes, as
kmod does; a tree with text index files only is indexed in memory (kmodkit's
extension). -s leaves messages on stderr; --no-check is kmodkit's. Every module
is checked before it is loaded (what the kernel would reject is refused unless
forced), and a dependency cycle in modules.dep refuses a real load (a dry run
prints kmod's plan). docs/compatibility.md lists every difference.`,
  exits: [[0, 'success (an already loaded module counts as success, unless --first-time)'], [1, 'a module was not found, not loaded or not removed, or a usage error']],
  example: 'kmodkit modprobe --show-depends -S 6.1.0-56-amd64 ext4',
};
const SPEC = optSpec(MODPROBE_HELP);

// syslog priorities, as kmod's log levels
const LOG_EMERG = 0;
const LOG_CRIT = 2;
const LOG_ERR = 3;
const LOG_WARNING = 4;
const PRIO_NAME: Record<number, string> = { 2: 'FATAL', 3: 'ERROR', 4: 'WARNING', 5: 'NOTICE', 6: 'INFO', 7: 'DEBUG' };

interface Run {
  io: LoadCliIo;
  ctx: ProbeContext;
  verbose: number;
  logPriority: number;
  show: boolean;
  dryRun: boolean;
  ignoreLoaded: boolean;
  firstTime: boolean;
  ignoreCommands: boolean;
  useBlacklist: boolean;
  removeHolders: boolean;
  force: ForceOption;
  /** Shared by this invocation's loads and removals (a module it loaded counts in the next one's check). */
  load: LoadContext;
  check: boolean;
  dir: string;
  compat: KmodCompat;
  syscalls?: ModuleSyscalls;
}

function log(run: Run, prio: number, msg: string): void {
  if (prio <= run.verbose) run.io.err(`modprobe: ${PRIO_NAME[prio] ?? 'ERROR'}: ${msg}`);
}

/** modprobe's options_from_array: words joined by spaces, a value with a space and no quote gets double quotes. */
export function modprobeOptionsString(words: readonly string[]): string {
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) return w;
    const value = w.slice(eq + 1);
    if (value[0] !== '"' && value[0] !== "'" && value.includes(' ')) return `${w.slice(0, eq + 1)}"${value}"`;
    return w;
  }).join(' ');
}

/**
 * What several in-process runs may share (tests running thousands of names):
 * the parsed modules directory and its indexes per directory, the
 * configuration per (directory, -C paths). Each run still starts with fresh
 * module state, as a new kmod process would.
 */
export interface ModprobeReuse {
  readonly dirs: Map<string, ModulesDir>;
  readonly configs: Map<string, ModprobeConfig>;
}

export function modprobeReuse(): ModprobeReuse {
  return { dirs: new Map(), configs: new Map() };
}

/** `syscalls`: a syscall backend other than the kernel's (tests: kmod's testsuite traps, test/kmod-testsuite). */
export async function runModprobe(argv: readonly string[], io: LoadCliIo = stdio, env: NodeJS.ProcessEnv = process.env, reuse?: ModprobeReuse, syscalls?: ModuleSyscalls): Promise<number> {
  const args = env.MODPROBE_OPTIONS !== undefined ? [...splitModprobeOptions(env.MODPROBE_OPTIONS), ...argv] : [...argv];
  const r = scanArgs(args, SPEC, 'modprobe');
  if (r.error) {
    io.err(`${r.error}\n`);
    return 1;
  }
  let verbose = LOG_WARNING;
  let logPriority = LOG_CRIT;
  const o = { all: false, remove: false, show: false, dryRun: false, ignoreLoaded: false, lookupOnly: false, firstTime: false, ignoreCommands: false, useBlacklist: false, force: false, modversion: false, vermagic: false, holders: false, showConfig: false, modversions: false, exports: false };
  const configPaths: string[] = [];
  let root: string | undefined;
  let kversion: string | undefined;
  let compatOption: string | undefined;
  for (const opt of r.opts) {
    switch (opt.name) {
      case 'all': logPriority = LOG_WARNING; o.all = true; break;
      case 'remove': o.remove = true; break;
      case 'remove-dependencies': case 'remove-holders': o.holders = true; break;
      case 'wait':
        if (!opt.value || !/^(0x[0-9a-f]+|[0-9]+)$/i.test(opt.value)) {
          io.err(`modprobe: ERROR: unexpected wait value '${opt.value ?? ''}'.\n`);
          return 1;
        }
        break;
      case 'first-time': o.firstTime = true; break;
      case 'ignore-install': case 'ignore-remove': o.ignoreCommands = true; break;
      case 'use-blacklist': o.useBlacklist = true; break;
      case 'force': o.force = true; break;
      case 'force-modversion': o.modversion = true; break;
      case 'force-vermagic': o.vermagic = true; break;
      case 'show-depends': o.ignoreLoaded = true; o.dryRun = true; o.show = true; break;
      case 'resolve-alias': o.lookupOnly = true; break;
      case 'showconfig': case 'show-config': o.showConfig = true; break;
      case 'show-modversions': case 'dump-modversions': o.modversions = true; break;
      case 'show-exports': o.exports = true; break;
      case 'dry-run': case 'show': o.dryRun = true; break;
      case 'config': configPaths.push(opt.value as string); break;
      case 'dirname': root = opt.value; break;
      case 'set-version': kversion = opt.value; break;
      case 'syslog': break; // messages stay on stderr
      case 'kmod-compat': compatOption = opt.value; break;
      case 'quiet': verbose = LOG_EMERG; break;
      case 'verbose': verbose++; break;
      case 'version': {
        const v = kmodVersionOutput(r.opts, env);
        if ('error' in v) io.err(`modprobe: ERROR: ${v.error}\n`);
        else io.out(v.text);
        return 'error' in v ? 1 : 0;
      }
      case 'help': io.out(helpText('kmodkit modprobe', MODPROBE_HELP)); return 0;
    }
  }
  const compat = resolveKmodCompat(compatOption, env);
  if ('error' in compat) {
    io.err(`modprobe: ERROR: ${compat.error}\n`);
    return 1;
  }
  const positionals = r.positionals;
  if (!o.showConfig && positionals.length === 0) {
    if (verbose >= LOG_ERR) io.err('modprobe: ERROR: missing parameters. See -h.\n');
    return 1;
  }
  const dir = modulesDirPath({ basedir: root ?? '', ...(kversion !== undefined ? { release: kversion } : {}) }).dir;
  let md = reuse?.dirs.get(dir);
  if (!md) {
    md = openModulesDir(dir, undefined, { root: root ?? '' });
    reuse?.dirs.set(dir, md);
  }
  const configKey = `${compat.compat}\0${dir}\0${configPaths.join('\0')}`;
  let config = reuse?.configs.get(configKey);
  if (!config) {
    config = readModprobeConfig({ modulesDir: dir, kmod: compat.compat, confine: root ?? '', ...(configPaths.length ? { configPaths } : {}) });
    reuse?.configs.set(configKey, config);
  }
  for (const m of config.messages) io.err(m); // libkmod logs these before modprobe sets its own log level
  const ctx = probeContext(md, config, { initState: (name) => moduleInitState(name) });
  const run: Run = {
    io, ctx, verbose, logPriority, show: o.show, dryRun: o.dryRun, ignoreLoaded: o.ignoreLoaded, firstTime: o.firstTime,
    ignoreCommands: o.ignoreCommands, useBlacklist: o.useBlacklist, removeHolders: o.holders,
    force: o.force ? true : { modversions: o.modversion, vermagic: o.vermagic }, check: !r.opts.some((x) => x.name === 'no-check'), dir, compat: compat.compat,
    load: newLoadContext(),
    ...(syscalls ? { syscalls } : {}),
  };
  if (o.showConfig) {
    io.out(showConfig(ctx));
    return 0;
  }
  if (o.modversions || o.exports) return (await showFileTable(run, positionals[0], o.modversions ? 'modversions' : 'symbols')) < 0 ? 1 : 0;
  if (o.lookupOnly) {
    let rc = 0;
    for (const name of o.all ? positionals : positionals.slice(0, 1)) {
      if (byPath(run, name)) {
        const plan = planFile(run, name, {});
        if (!plan) {
          rc = 1;
          continue;
        }
        io.out(`${plan.targets[0].name}\n`);
        continue;
      }
      const names = resolveAliasNames(ctx, name);
      if (!names) {
        log(run, run.logPriority, `Module ${name} not found in directory ${dir}\n`);
        rc = 1;
        continue;
      }
      for (const n of names) io.out(`${n}\n`);
    }
    return rc;
  }
  if (o.remove) {
    let err = 0;
    for (const name of o.all ? positionals : positionals.slice(0, 1)) {
      const e = await rmmod(run, name);
      if (e < 0) err = e;
    }
    return err < 0 ? 1 : 0;
  }
  if (o.all) {
    let err = 0;
    for (const name of positionals) {
      const e = await insmod(run, name, null);
      if (e < 0) err = e;
    }
    return err < 0 ? 1 : 0;
  }
  const extra = positionals.length > 1 ? modprobeOptionsString(positionals.slice(1)) : null;
  return (await insmod(run, positionals[0], extra)) < 0 ? 1 : 0;
}

const EEXIST = -17;
const ENOENT = -2;

/** kmod 31+ takes an argument starting with '/' or './' as a module file (kmod 30 looks it up as an alias). */
function byPath(run: Run, arg: string): boolean {
  return run.compat !== '30' && (arg.startsWith('/') || arg.startsWith('./'));
}

/** kmod_module_new_from_path, then the plan; null (after kmod's message) when the file cannot be stat'ed. */
function planFile(run: Run, arg: string, opts: PlanOptions): Plan | null {
  const errno = statErrno(arg);
  if (errno !== null) {
    log(run, run.logPriority, `Failed to get module from path ${arg}: ${strerror(errno)}\n`);
    return null;
  }
  // path_make_absolute_cwd: an absolute path as given, else cwd + '/' + path (not normalised)
  return planProbeFile(run.ctx, arg.startsWith('/') ? arg : `${process.cwd()}/${arg}`, opts);
}

/**
 * --show-modversions / --dump-modversions and --show-exports FILE (kmod's
 * show_modversions, show_exports): the module's __versions, or its exports
 * with their CRCs, one `0x%08x\tNAME` line each.
 */
async function showFileTable(run: Run, file: string, what: 'modversions' | 'symbols'): Promise<number> {
  if (statErrno(file) !== null) {
    log(run, run.logPriority, `Module ${file} not found.\n`);
    return ENOENT;
  }
  const { openModule } = await import('../../lib/io/open.js');
  const { dumpModversionsKmod30 } = await import('../../lib/module/versions.js');
  const { kmodExportedSymbols } = await import('../../lib/module/exports.js');
  // kmod 30 reports a missing section as ENOENT, kmod 34 as ENODATA
  const noSection = run.compat === '30' ? 'ENOENT' : 'ENODATA';
  let text: string;
  try {
    const opened = await openModule(file);
    try {
      if (what === 'modversions') text = Buffer.from(dumpModversionsKmod30(opened.module.elf)).toString('latin1');
      else {
        const list = kmodExportedSymbols(opened.module.elf);
        if (list === null) throw new KmodkitError('ENOSECTION', 'module has no __ksymtab_strings section');
        text = list.map((x) => `0x${x.crc.toString(16).padStart(8, '0')}\t${x.symbol}\n`).join('');
      }
    } finally {
      opened.close();
    }
  } catch (e) {
    if (!isKmodkitError(e)) throw e;
    const errno = e.code === 'ENOSECTION' ? noSection : e.code === 'EFORMAT' || e.code === 'EVERSIONS' ? 'EINVAL' : (e.errno ?? 'EINVAL');
    log(run, run.logPriority, `could not get ${what} of ${file}: ${strerror(errno)}\n`);
    return -1;
  }
  run.io.out(text);
  return 0;
}

async function insmod(run: Run, name: string, extra: string | null): Promise<number> {
  const opts: PlanOptions = {
    ...(extra !== null ? { extraOptions: extra } : {}),
    ignoreCommands: run.ignoreCommands,
    useBlacklist: run.useBlacklist,
    ignoreLoaded: run.ignoreLoaded,
  };
  let plan: Plan;
  if (byPath(run, name)) {
    const p = planFile(run, name, opts);
    if (!p) return ENOENT;
    plan = p;
  } else plan = planProbe(run.ctx, name, opts);
  if (!plan.found) {
    log(run, run.logPriority, `Module ${name} not found in directory ${run.dir}\n`);
    return ENOENT;
  }
  const show = run.show || run.verbose > LOG_WARNING;
  let err = 0;
  for (const t of plan.targets) {
    err = 0;
    if (t.alreadyLoaded) err = run.firstTime ? EEXIST : 0;
    else if (!t.blacklisted && t.dependencyCycle && !run.dryRun) {
      // kmodkit: no kernel can load a cycle; kmod would hand its first module over and fail on its symbols
      log(run, LOG_ERR, `could not insert '${t.name}': modules.dep has a dependency cycle: ${t.dependencyCycle.join(' -> ')}\n`);
      err = -1;
    } else if (!t.blacklisted) {
      for (const s of t.steps) {
        let e = 0;
        if (!run.ignoreLoaded && s.inKernel) e = EEXIST;
        else if (s.action === 'install') {
          if (show) run.io.out(`install ${s.command} ${s.options}\n`);
          if (!run.dryRun) e = runCommand(run, 'install', s.name, s.command as string, s.options);
        } else {
          if (show) {
            if (s.action === 'insmod') run.io.out(`insmod ${s.path} ${s.options}\n`);
            else if (s.action === 'builtin') run.io.out(`builtin ${s.name}\n`);
          }
          if (!run.dryRun && s.action === 'insmod') e = await insertOne(run, s.name, s.path as string, s.options);
          else if (!run.dryRun && s.action === 'none') e = ENOENT;
        }
        const isTarget = s.reason === 'requested';
        if (e === EEXIST && isTarget && run.firstTime) {
          err = e;
          break;
        }
        if (e === EEXIST || !s.required) e = 0;
        else if (e < 0) {
          err = e;
          break;
        }
      }
    }
    if (err < 0) {
      if (err === EEXIST) log(run, LOG_ERR, `could not insert '${t.name}': Module already in kernel\n`);
      else if (err === ENOENT) log(run, LOG_ERR, `could not insert '${t.name}': Unknown symbol in module, or unknown parameter (see dmesg)\n`);
      else if (err !== -1) log(run, LOG_ERR, `could not insert '${t.name}': ${errText(err)}\n`);
    }
  }
  return err;
}

function errText(err: number): string {
  return `error ${-err}`;
}

/** Run an install/remove command as kmod does: $CMDLINE_OPTS replaced, MODPROBE_MODULE set, through the shell. */
function runCommand(run: Run, type: 'install' | 'remove', name: string, command: string, options: string): number {
  const cmd = command.split('$CMDLINE_OPTS').join(options);
  if (run.verbose > LOG_WARNING) run.io.out(`${type} ${cmd}\n`);
  if (run.dryRun) return 0;
  const status = runShellCommand(cmd, { MODPROBE_MODULE: name });
  if (status === 0) return 0;
  log(run, run.logPriority, `Error running ${type} command for ${name}\n`);
  return -status;
}

async function insertOne(run: Run, name: string, path: string, options: string): Promise<number> {
  try {
    await loadModule(path, { params: options, force: run.force, check: run.check, modulesDir: run.dir, tool: 'modprobe', context: run.load, ...(run.check ? {} : { unknownParams: 'ignore' as const }), ...(run.syscalls ? { syscalls: run.syscalls } : {}) });
    return 0;
  } catch (e) {
    if (isKmodkitError(e) && (e as KmodkitError).errno === 'EEXIST') return EEXIST;
    if (run.verbose >= LOG_ERR) reportLoadError('modprobe', e, run.io, { path, name, tool: 'modprobe', verbose: run.verbose > LOG_WARNING });
    return -1;
  }
}

async function removeOne(run: Run, name: string): Promise<number> {
  if (run.verbose > LOG_WARNING || run.show) run.io.out(`rmmod ${name}\n`);
  if (run.dryRun) return 0;
  try {
    await unloadModule(name, { check: false, context: run.load, ...(run.force === true ? { force: true } : {}), ...(run.syscalls ? { syscalls: run.syscalls } : {}) });
    return 0;
  } catch (e) {
    // libkmod's kmod_module_remove_module logs delete_module's error (%m) and returns it; modprobe adds nothing
    const errno = isKmodkitError(e) && e.code === 'ESYSCALL' && e.errno ? (e.errno === 'EWOULDBLOCK' ? 'EAGAIN' : e.errno) : null;
    const text = errno ? strerror(errno) : isKmodkitError(e) ? e.message : String(e);
    if (run.verbose >= LOG_ERR) run.io.err(`${toolLogPrefix(run.compat, 'modprobe', { file: 'libkmod-module.c', line30: 856, fn: 'kmod_module_remove_module' })}could not remove '${name}': ${text}\n`);
    return -1;
  }
}

async function rmmod(run: Run, name: string): Promise<number> {
  const infos = removeInfo(run.ctx, name);
  if (!infos) {
    log(run, run.logPriority, `Module ${name} not found.\n`);
    return ENOENT;
  }
  let err = 0;
  for (const info of infos) {
    err = await rmmodDo(run, info, run.removeHolders, false);
    if (err < 0) break;
  }
  return err;
}

async function rmmodDo(run: Run, info: { name: string; pre: string[]; post: string[]; remove: string | null; deps: string[] }, holders: boolean, ignoreBuiltin: boolean): Promise<number> {
  const cmd = run.ignoreCommands ? null : info.remove;
  const pre = run.ignoreCommands ? [] : info.pre;
  const post = run.ignoreCommands ? [] : info.post;
  if (!cmd && !run.ignoreLoaded) {
    const state = run.ctx.md.isBuiltin(info.name) ? 'builtin' : moduleInitState(info.name);
    if (state === 'absent') {
      if (run.firstTime) {
        log(run, run.logPriority, `Module ${info.name} is not in kernel.\n`);
        return ENOENT;
      }
      return 0;
    }
    if (state === 'builtin') {
      if (ignoreBuiltin) return 0;
      log(run, run.logPriority, `Module ${info.name} is builtin.\n`);
      return ENOENT;
    }
  }
  const sub = async (names: readonly string[], stop: boolean): Promise<number> => {
    for (const n of [...names].reverse()) {
      const i = removeInfo(run.ctx, n)?.[0] ?? { name: n, pre: [], post: [], remove: null, deps: [] };
      const e = await rmmodDo(run, i, false, true);
      if (e < 0 && stop) return e;
    }
    return 0;
  };
  await sub(post, false);
  if (holders) {
    const e = await sub((moduleHolders(info.name) ?? []).sort(), true);
    if (e < 0) return e;
  }
  if (!cmd && !run.ignoreLoaded && (moduleRefcnt(info.name) ?? 0) > 0) {
    log(run, run.logPriority, `Module ${info.name} is in use.\n`);
    return -16;
  }
  const err = cmd ? runCommand(run, 'remove', info.name, cmd, '') : await removeOne(run, info.name);
  if (err < 0) return err;
  if (!cmd) for (const d of info.deps) if (moduleInitState(d) !== 'absent' && (moduleRefcnt(d) ?? 0) === 0) await removeOne(run, d);
  await sub(pre, false);
  return 0;
}
