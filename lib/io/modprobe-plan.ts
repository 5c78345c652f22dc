/**
 * `resolve(nameOrAlias, opts)`: what `modprobe NAME` would do on this
 * system (or a staging tree under `root`), without touching the kernel —
 * every module in load order with its file, parameters and the config
 * lines they came from. Reads the modules directory and modprobe.d
 * through lib/io; the algorithm is lib/modprobe/resolve.ts.
 */
import { modulesDirPath, openModulesDir } from './modules-dir.js';
import { readModprobeConfig } from './modprobe-config.js';
import type { ModprobeConfig } from '../modprobe/config.js';
import { planProbe, probeContext, type Plan, type PlanOptions } from '../modprobe/resolve.js';

export interface ResolveOptions extends PlanOptions {
  /** Prefix for /lib/modules, the modprobe.d directories and /proc/cmdline. */
  root?: string;
  /** Kernel release (default: the running kernel's). */
  release?: string;
  /** /lib/modules/<release> itself (overrides root/release for the modules directory). */
  modulesDir?: string;
  /** `-C` paths replacing the default modprobe.d directories; or a parsed configuration. */
  config?: readonly string[] | ModprobeConfig;
}

export function resolve(nameOrAlias: string, opts: ResolveOptions = {}): Plan {
  const root = opts.root ?? '';
  const dir = opts.modulesDir ?? modulesDirPath({ basedir: root, ...(opts.release !== undefined ? { release: opts.release } : {}) }).dir;
  const config = opts.config && !Array.isArray(opts.config)
    ? (opts.config as ModprobeConfig)
    : readModprobeConfig({ root, modulesDir: dir, ...(opts.config ? { configPaths: opts.config as readonly string[] } : {}) });
  return planProbe(probeContext(openModulesDir(dir), config), nameOrAlias, { ignoreLoaded: true, ...opts });
}
