/**
 * The pre-flight check as the loader runs it: lib/check/run.ts's
 * checkModule() against the running kernel, with the target narrowed to
 * what the kernel can resolve *right now*: exports and depends= come from
 * vmlinux and the modules that are loaded (or built in), not from every
 * module of /lib/modules (that is modprobe's business, and ModuleSet's).
 * An unknown symbol that an unloaded module of the tree exports gets that
 * module's name attached (detail.exporter), so the error can say "load
 * kmodkit_exporter first".
 */
import { checkModule, type CheckResult } from '../check/run.js';
import type { Finding } from '../check/findings.js';
import type { TargetKernel, TargetModules } from '../check/target.js';
import { loadTarget } from '../io/target.js';
import { loadedModuleNames, sysModuleNames } from '../io/sysfs.js';
import { modnameNormalize } from '../modindex/names.js';
import type { KernelModule } from '../module/module.js';
import type { LoadContext } from './context.js';

/**
 * The running kernel as a check target. Read once per root + modules
 * directory within `context`; without one, read anew.
 */
export function runningTarget(opts: { root?: string; modulesDir?: string; context?: LoadContext } = {}): Promise<TargetKernel> {
  const read = () => loadTarget({ running: true, ...(opts.root ? { root: opts.root } : {}), ...(opts.modulesDir ? { modulesDir: opts.modulesDir } : {}) });
  const targets = opts.context?.targets;
  if (!targets) return read();
  const key = `${opts.root ?? ''}\0${opts.modulesDir ?? ''}`;
  let t = targets.get(key);
  if (!t) {
    t = read();
    t.catch(() => targets.delete(key));
    targets.set(key, t);
  }
  return t;
}

/** The target narrowed to what is loaded now: `loaded` = names in /proc/modules. */
export function loadTimeTarget(t: TargetKernel, loaded: ReadonlySet<string>, sysModule?: ReadonlySet<string>): TargetKernel {
  const m = t.modules;
  const present = (n: string) => loaded.has(modnameNormalize(n)) || (m?.isBuiltin(n) ?? false);
  const modules: TargetModules | undefined = m && {
    dir: m.dir,
    has: present,
    isBuiltin: (n) => m.isBuiltin(n),
    exportsOf: async (s) => (await m.exportsOf(s)).filter((x) => x.owner === 'vmlinux' || present(x.owner)),
    reference: () => m.reference(),
  };
  return {
    ...t,
    ...(modules ? { modules } : {}),
    loadedModules: sysModule ?? new Set([...loaded, ...(t.loadedModules ?? [])]),
  };
}

export interface PreflightOptions {
  root?: string;
  /** Parameters as name=value words (what the kernel will see). */
  params?: readonly string[];
  path?: string;
  /** Modules already loaded whose exports the check should count (e.g. loaded by this process). */
  companions?: readonly KernelModule[];
}

/** Run the pre-flight check of `mod` against the full target `t`, judged at load time. */
export async function preflight(mod: KernelModule, t: TargetKernel, opts: PreflightOptions = {}): Promise<CheckResult> {
  const root = opts.root ?? '';
  const loaded = loadedModuleNames(root);
  const sys = t.origin === 'running' ? sysModuleNames(root) : undefined;
  const lt = t.origin === 'running' ? loadTimeTarget(t, loaded, sys) : t;
  const r = await checkModule(mod, lt, {
    ...(opts.params ? { params: opts.params } : {}),
    ...(opts.path !== undefined ? { path: opts.path } : {}),
    ...(opts.companions ? { companions: opts.companions } : {}),
  });
  if (!t.modules) return r;
  // Name the exporter of each unknown symbol when the modules tree has one.
  const findings: Finding[] = [];
  for (const f of r.findings) {
    if (f.id === 'symbol.unknown' && f.status === 'failed' && f.symbol) {
      const owners = (await t.modules.exportsOf(f.symbol)).map((x) => x.owner).filter((o) => o !== 'vmlinux');
      if (owners.length) {
        findings.push({
          ...f,
          hint: `load ${owners[0]} first (it exports ${f.symbol} and is not loaded)`,
          detail: { ...(f.detail ?? {}), exporter: owners[0], exporters: owners },
        });
        continue;
      }
    }
    findings.push(f);
  }
  return { ...r, findings };
}
