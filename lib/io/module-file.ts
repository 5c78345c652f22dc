/**
 * Name → file resolution for loadModule and ModuleSet.
 *
 * - a path (it contains '/', or ends in .ko/.ko.gz/.ko.xz/.ko.zst) is used
 *   as given;
 * - anything else is a module name or alias: modules.dep first, then
 *   built-in modules, then kmod's alias lookup (config aliases,
 *   modules.symbols, modules.alias, built-in aliases). A bare name never
 *   means a file in the working directory.
 */
import { KmodkitError } from '../errors.js';
import { depPath, lookupName, modulesDirPath, openModulesDir } from './modules-dir.js';
import { pathExists } from './paths.js';
import { MODULE_FILE_RE, modnameFromPath } from '../modindex/names.js';
import { emptyConfig } from '../modprobe/config.js';
import { planProbe, probeContext } from '../modprobe/resolve.js';

export interface ResolvedModuleFile {
  readonly path: string;
  /** Name derived from the file name (the module's own name is read later). */
  readonly name: string;
  /** Dependencies from modules.dep (paths), when resolved by name. */
  readonly deps?: readonly string[];
}

/** Is this argument a file path rather than a module name? */
export function isModulePath(arg: string): boolean {
  return arg.includes('/') || MODULE_FILE_RE.test(arg);
}

export function resolveModuleFile(fileOrName: string, opts: { modulesDir?: string; root?: string } = {}): ResolvedModuleFile {
  if (isModulePath(fileOrName)) {
    if (!pathExists(fileOrName)) throw new KmodkitError('ENOENT', `could not load module ${fileOrName}: No such file or directory`, { file: fileOrName, errno: 'ENOENT' });
    return { path: fileOrName, name: modnameFromPath(fileOrName) };
  }
  const dir = opts.modulesDir ?? modulesDirPath({ basedir: opts.root ?? '' }).dir;
  const md = openModulesDir(dir);
  const r = lookupName(md, fileOrName);
  if (r?.kind === 'file') return { path: r.path, name: r.name, deps: r.deps };
  if (r?.kind === 'builtin') throw new KmodkitError('EINPUT', `Module ${r.name} is builtin`, { errno: 'EEXIST', detail: { module: r.name, builtin: true } });
  // An alias: the first module it stands for, as modprobe's first lookup result.
  const plan = planProbe(probeContext(md, emptyConfig()), fileOrName, { ignoreLoaded: true });
  const target = plan.targets[0];
  const step = target?.steps.find((s) => s.reason === 'requested');
  if (step?.path) {
    const e = md.dep().get(step.name);
    return { path: step.path, name: step.name, ...(e ? { deps: e.deps.map((d) => depPath(md, d)) } : {}) };
  }
  if (step?.action === 'builtin') throw new KmodkitError('EINPUT', `Module ${step.name} is builtin`, { errno: 'EEXIST', detail: { module: step.name, builtin: true } });
  throw new KmodkitError('ENOENT', `Module ${fileOrName} not found in directory ${dir}`, { errno: 'ENOENT', detail: { module: fileOrName, modulesDir: dir } });
}
