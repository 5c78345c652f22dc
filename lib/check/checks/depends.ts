/**
 * depends= (written by modpost: the modules providing imported symbols)
 * against what the target has: its modules tree, the loaded modules, the
 * exporters named in its Module.symvers, or the modules checked alongside.
 */
import { modinfoDepends } from '../../module/modinfo.js';
import { modnameNormalize } from '../../modindex/names.js';
import { isVmlinux, symversModuleName } from '../symvers.js';
import { failed, passed, skipped, type Finding } from '../findings.js';
import { hasModuleNamed, otherNameCount, type ModuleFactsIndex } from '../../module/facts.js';
import type { TargetKernel } from '../target.js';
import type { CheckContext, NeedsCompanions } from './context.js';

/** What the depends check still has to ask of the modules checked alongside (no module image). */
export interface DependsState {
  readonly self: string;
  readonly deps: readonly string[];
  /** The hint for a target without a modules tree, in the caller's words. */
  readonly hint: string;
}

export function checkDepends(ctx: CheckContext): Finding[] | NeedsCompanions<DependsState> {
  const deps = ctx.modinfo ? modinfoDepends(ctx.modinfo) : [];
  if (deps.length === 0) return [passed('depends.missing', 'module depends on no other module')];
  return { needs: 'companions', state: { self: ctx.name, deps, hint: `pass ${ctx.input('modulesDir')}` } };
}

/** The rest, once the modules checked alongside are known. */
export function finishDepends(t: TargetKernel, state: DependsState, companions: ModuleFactsIndex): Finding[] {
  const { self, deps } = state;
  // The exporters Module.symvers names: made only when a dependency is found nowhere else.
  const judgeBySymvers = t.symvers !== undefined && !t.modules;
  let symversOwners: Set<string> | undefined;
  const inSymvers = (n: string): boolean => {
    if (!symversOwners) {
      symversOwners = new Set();
      for (const e of t.symvers!.entries) if (!isVmlinux(e.module)) symversOwners.add(symversModuleName(e.module));
    }
    return symversOwners.has(n);
  };
  if (!t.modules && !t.loadedModules && !judgeBySymvers && otherNameCount(companions, self) === 0) {
    return [skipped('depends.missing', `cannot tell which modules the target has: ${t.missing.modules ?? 'no modules tree'}`, { field: 'depends', hint: state.hint })];
  }
  const out: Finding[] = [];
  for (const d of deps) {
    const n = modnameNormalize(d);
    const where = hasModuleNamed(companions, n, self) ? 'checked alongside' : t.modules?.has(n) ? `in ${t.modules.dir}` : t.loadedModules?.has(n) ? 'loaded' : judgeBySymvers && inSymvers(n) ? 'in Module.symvers' : undefined;
    if (!where) {
      const known = t.modules ? true : false;
      out.push(failed('depends.missing', `depends on module ${d}, which the target ${known ? 'does not have' : 'does not list (no modules tree; judged from Module.symvers/loaded modules)'}`, { field: 'depends', errno: 'ENOENT', detail: { module: d }, hint: `install or load ${d} first (or check it together with this module)` }));
    }
  }
  if (!out.length) out.push(passed('depends.missing', `dependencies present: ${deps.join(', ')}`, { field: 'depends' }));
  return out;
}
