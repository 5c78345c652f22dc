/**
 * Removing a kernel module (rmmod): the same pre-checks as kmod (builtin,
 * not loaded, holders, refcount), then delete_module(2) with O_NONBLOCK
 * (unless `wait`) and O_TRUNC for `force`. What the kernel shows comes from
 * lib/io/sysfs.ts.
 */
import { isKmodkitError } from '../errors.js';
import { modulesDirPath, openModulesDir } from '../io/modules-dir.js';
import { isRegularFilePath } from '../io/paths.js';
import { hasSysModule, moduleHolders, moduleInitstate, moduleRefcnt } from '../io/sysfs.js';
import { modnameFromPath, modnameNormalize } from '../modindex/names.js';
import type { LoadContext } from './context.js';
import { loadError, removePrecheckError } from './errors.js';
import { O_NONBLOCK, O_TRUNC, loadSyscalls, type ModuleSyscalls } from './syscalls.js';

export interface UnloadOptions {
  /** Clear O_NONBLOCK (kmod always sets it). Also skips the refcount pre-check, as modprobe --wait does. */
  wait?: boolean;
  /** O_TRUNC: force removal (CONFIG_MODULE_FORCE_UNLOAD; taints R). Skips the pre-checks, as rmmod -f does. */
  force?: boolean;
  /** rmmod's pre-checks (default true). */
  check?: boolean;
  syscalls?: ModuleSyscalls;
  root?: string;
  /** For the builtin check (modules.builtin). */
  modulesDir?: string;
  /** The context the module was loaded through: it forgets the module (see LoadContext). */
  context?: LoadContext;
}

/** kmod's initstate: 'builtin' | 'live' | 'coming' | 'going' | 'absent'. */
export type InitState = 'builtin' | 'live' | 'coming' | 'going' | 'absent';

export function moduleInitState(name: string, opts: { root?: string; builtin?: ReadonlySet<string> } = {}): InitState {
  const root = opts.root ?? '';
  if (opts.builtin?.has(name)) return 'builtin';
  const text = moduleInitstate(name, root);
  if (text === 'live' || text === 'coming' || text === 'going') return text;
  if (hasSysModule(name, root)) return text === undefined ? 'coming' : 'live';
  return 'absent';
}

function builtinSet(opts: { root?: string; modulesDir?: string }): Set<string> {
  const dir = opts.modulesDir ?? modulesDirPath({ basedir: opts.root ?? '' }).dir;
  try {
    return openModulesDir(dir).builtin();
  } catch {
    return new Set();
  }
}

/**
 * Remove a module (rmmod). `nameOrPath`: a module name, or a module file
 * (its name is taken from the file name, as rmmod does).
 */
export async function unloadModule(nameOrPath: string, opts: UnloadOptions = {}): Promise<void> {
  const sys = opts.syscalls ?? (await loadSyscalls());
  unloadModuleSync(nameOrPath, { ...opts, syscalls: sys });
}

/** unloadModule() with a given syscall backend: synchronous (for process 'exit' hooks). */
export function unloadModuleSync(nameOrPath: string, opts: UnloadOptions & { syscalls: ModuleSyscalls }): void {
  const root = opts.root ?? '';
  const isFile = nameOrPath.includes('/') && isRegularFilePath(nameOrPath);
  const name = isFile ? modnameFromPath(nameOrPath) : modnameNormalize(nameOrPath);
  if (opts.check !== false && !opts.force) {
    const state = moduleInitState(name, { root, builtin: builtinSet(opts) });
    if (state === 'builtin') throw removePrecheckError('EPERM', name, `Module ${name} is builtin.`, { builtin: true });
    if (state === 'absent') throw removePrecheckError('ENOENT', name, `Module ${name} is not currently loaded`);
    const holders = moduleHolders(name, root);
    if (holders && holders.length) throw removePrecheckError('EWOULDBLOCK', name, `Module ${name} is in use by: ${holders.join(' ')}`, { holders });
    const refcnt = moduleRefcnt(name, root);
    if (refcnt === undefined) throw removePrecheckError('ENOSYS', name, 'Module unloading is not supported');
    if (refcnt > 0 && !opts.wait) throw removePrecheckError('EWOULDBLOCK', name, `Module ${name} is in use`, { refcnt });
  }
  const flags = (opts.wait ? 0 : O_NONBLOCK) | (opts.force ? O_TRUNC : 0);
  try {
    opts.syscalls.deleteModule(name, flags);
  } catch (e) {
    if (isKmodkitError(e) && e.code === 'ESYSCALL') throw loadError(e, { op: 'remove', module: name, tool: 'rmmod', call: 'delete_module' });
    throw e;
  }
  opts.context?.loaded.delete(name);
}

