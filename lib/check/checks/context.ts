/**
 * What every check receives: the module, the target, the options, and the
 * module facts several checks share (decoded once, lazily).
 */
import { KmodkitError } from '../../errors.js';
import type { KernelModule } from '../../module/module.js';
import { moduleInfo } from '../../module/module.js';
import { modinfoValue, type ModinfoEntry } from '../../module/modinfo.js';
import { moduleName } from '../../module/layout.js';
import { moduleExports, type KernelSymbolExport } from '../../module/exports.js';
import type { TargetKernel } from '../target.js';
import type { Finding } from '../findings.js';
import { modnameFromPath } from '../../modindex/names.js';

export interface CheckOptions {
  /** Parameters to pass at load time: ['a=1', 'flag'] or { a: '1' }. */
  params?: readonly string[] | Readonly<Record<string, string>>;
  /**
   * Modules loaded together with this one (e.g. the other files of one
   * `kmodkit check` run): their exports resolve this module's imports and
   * their names satisfy its depends=.
   */
  companions?: readonly KernelModule[];
  /** File name, for messages. */
  path?: string;
}

export interface Companion {
  readonly name: string;
  readonly exports: readonly KernelSymbolExport[];
}

export interface CheckContext {
  readonly mod: KernelModule;
  readonly target: TargetKernel;
  readonly opts: CheckOptions;
  /** .modinfo entries; null when the module has none. */
  readonly modinfo: readonly ModinfoEntry[] | null;
  /** Module name (modinfo name=, struct module, or the file name). */
  readonly name: string;
  companions(): Companion[];
}

export type Check = (ctx: CheckContext) => Promise<Finding[]> | Finding[];

function nameFromPath(path: string | undefined): string | undefined {
  return path ? modnameFromPath(path) : undefined;
}

export function createContext(mod: KernelModule, target: TargetKernel, opts: CheckOptions): CheckContext {
  let modinfo: ModinfoEntry[] | null;
  try {
    modinfo = moduleInfo(mod);
  } catch (e) {
    if (!(e instanceof KmodkitError && e.code === 'EMODINFO')) throw e;
    modinfo = null;
  }
  let name: string | undefined;
  try {
    name = moduleName(mod).name;
  } catch {
    name = undefined;
  }
  name ??= (modinfo && modinfoValue(modinfo, 'name')) || nameFromPath(opts.path) || 'unknown';
  let companions: Companion[] | undefined;
  return {
    mod,
    target,
    opts,
    modinfo,
    name,
    companions() {
      if (!companions) {
        companions = [];
        for (const c of opts.companions ?? []) {
          if (c === mod) continue;
          let cname: string | undefined;
          let exports: KernelSymbolExport[] = [];
          try {
            cname = moduleName(c).name;
            exports = moduleExports(c.elf);
          } catch {
            /* a companion we cannot decode contributes nothing */
          }
          if (cname && cname !== name) companions.push({ name: cname, exports });
        }
      }
      return companions;
    },
  };
}
