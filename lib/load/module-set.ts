/**
 * ModuleSet: the kernel modules a daemon needs while it runs.
 *
 *   const set = new ModuleSet(['kmodkit_consumer'], { searchPaths: ['/opt/app/ko'] });
 *   await set.load();   // dependencies first; remembers what IT loaded
 *   ...                 // SIGINT/SIGTERM/exit unload them in reverse order
 *   set.close();        // or explicitly; safe to call twice
 *
 * Dependencies come from modules.dep for modules found there, or from the
 * `depends=` of module files found in `searchPaths`. A module that is
 * already in the kernel (or built in) is used but never unloaded by the set.
 *
 * close() is synchronous (the syscalls are synchronous through koffi), so it
 * also runs from a process 'exit' hook. The signal handlers close the set,
 * remove themselves, and then — unless the application has its own
 * listeners for that signal — re-raise it so the process ends the way it
 * would have without kmodkit (status 128+signo).
 */
import { constants as osConstants } from 'node:os';
import { KmodkitError, isKmodkitError } from '../errors.js';
import { lookupName, modulesDirPath, openModulesDir, type ModulesDir } from '../io/modules-dir.js';
import { readModprobeConfig } from '../io/modprobe-config.js';
import { readOwnershipRecord, writeOwnershipRecord, type OwnershipEntry } from '../io/ownership-record.js';
import { readModuleForLoad } from '../io/open.js';
import { directoryNames, isDirectoryPath } from '../io/paths.js';
import { bootId, identityMismatch, kernelModuleIdentity, type ModuleIdentity } from '../io/sysfs.js';
import { emptyConfig, type ModprobeConfig } from '../modprobe/config.js';
import { isModulePath } from '../io/module-file.js';
import { planProbe, probeContext } from '../modprobe/resolve.js';
import { MODULE_FILE_RE, modnameFromPath, modnameNormalize } from '../modindex/names.js';
import { modinfoDepends } from '../module/modinfo.js';
import { moduleInfo, type KernelModule } from '../module/module.js';
import type { KmodTool } from './errors.js';
import type { ParamsInput } from './params-string.js';
import { newLoadContext, type LoadContext } from './context.js';
import { isLoaded } from './list.js';
import { loadModule, type ForceOption, type LoadedModule } from './load.js';
import { unloadModuleSync } from './unload.js';
import { loadSyscalls, type ModuleSyscalls } from './syscalls.js';
import type { TargetKernel } from '../check/target.js';

export interface ModuleSetOptions {
  /** Parameters per module name (kernel spelling or with '-'). Only the module itself gets them, not its dependencies. */
  params?: Readonly<Record<string, ParamsInput>>;
  /** Directories with .ko/.ko.gz/.ko.xz/.ko.zst files, searched (not recursively) before modules.dep. */
  searchPaths?: readonly string[];
  /** /lib/modules/<release> (default: <root>/lib/modules/$(uname -r)). */
  modulesDir?: string;
  root?: string;
  syscalls?: ModuleSyscalls;
  /** Pre-flight check per module (see LoadOptions.check). */
  check?: boolean | 'warn';
  force?: ForceOption;
  target?: TargetKernel;
  /** Signals whose arrival closes the set (default SIGINT, SIGTERM); false: none. */
  signals?: readonly NodeJS.Signals[] | false;
  /** Close the set from process.on('exit') (default true). */
  exitHook?: boolean;
  /** When a load fails, unload what this set loaded so far (default true). */
  rollback?: boolean;
  /** Unload with O_NONBLOCK cleared (default false). */
  waitOnClose?: boolean;
  /** Called for each module close() could not unload (default: write a line to stderr). */
  onCloseError?: (name: string, error: unknown) => void;
  tool?: KmodTool;
  /**
   * modprobe.d configuration for names and aliases resolved through the
   * modules directory: true (default) reads <root>/etc/modprobe.d etc. as
   * kmod does; false uses none; or a parsed configuration.
   */
  modprobeConfig?: boolean | ModprobeConfig;
  /**
   * A module the configuration would load through an `install` command:
   * 'refuse' (default, KmodkitError 'ECOMMAND') or 'ignore' (load its file,
   * as modprobe -i). kmodkit's library never runs configured commands.
   */
  installCommands?: 'refuse' | 'ignore';
  /**
   * Ownership record (e.g. '/run/mydaemon/modules.json'): written before each
   * load and after each unload, so that after a crash the next run adopts
   * (and will unload) exactly the modules the previous run loaded — when the
   * kernel still holds the same instance (size, address, srcversion) in the
   * same boot. Anything else already loaded stays someone else's.
   */
  ownershipFile?: string;
  /**
   * The LoadContext the set's loads go through (default: one of its own).
   * The modules the set loaded count as exporters in the checks of its later loads.
   */
  context?: LoadContext;
}

export interface PlannedModule {
  readonly name: string;
  readonly path: string;
  /** Names of the modules it depends on. */
  readonly deps: readonly string[];
  /** Requested by the caller (not pulled in as a dependency). */
  readonly requested: boolean;
  /** Why it is in the plan (softdeps come from modprobe.d or the module's softdep= lines). */
  readonly reason?: 'requested' | 'dependency' | 'softdep-pre' | 'softdep-post';
  /** Options modprobe.d gives it (used when the caller gives no params for it). */
  readonly options?: string;
}

export interface CloseResult {
  readonly unloaded: readonly string[];
  readonly failed: readonly { name: string; error: unknown }[];
}

export class ModuleSet {
  readonly items: readonly string[];
  private readonly opts: ModuleSetOptions;
  private owned: LoadedModule[] = [];
  /** name → the kernel's identity of the instance this set loaded (or adopted). */
  private readonly identities = new Map<string, ModuleIdentity | null>();
  private readonly context: LoadContext;
  private readonly adoptedNames = new Set<string>();
  private plannedList: PlannedModule[] | undefined;
  private sys: ModuleSyscalls | undefined;
  private closed = false;
  private closing: CloseResult | undefined;
  private hooksInstalled = false;
  private readonly signalHandlers = new Map<NodeJS.Signals, () => void>();
  private readonly exitHandler = (): void => {
    this.close();
  };

  constructor(items: readonly string[], opts: ModuleSetOptions = {}) {
    this.items = [...items];
    this.opts = opts;
    this.context = opts.context ?? newLoadContext();
  }

  /** Names of the modules this set loaded, in load order. */
  get loaded(): readonly string[] {
    return this.owned.map((m) => m.name);
  }

  /** Modules a previous run (per the ownership record) loaded and this set took over. */
  get adopted(): readonly string[] {
    return [...this.adoptedNames];
  }

  /** Handles of the modules this set loaded. */
  get handles(): readonly LoadedModule[] {
    return [...this.owned];
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private modulesDir(): ModulesDir | undefined {
    const dir = this.opts.modulesDir ?? modulesDirPath({ basedir: this.opts.root ?? '' }).dir;
    return isDirectoryPath(dir) ? openModulesDir(dir) : undefined;
  }

  private searchIndex(): Map<string, string> {
    const idx = new Map<string, string>();
    for (const dir of this.opts.searchPaths ?? []) {
      const names = directoryNames(dir);
      if (!names) continue;
      // Prefer the uncompressed file when several forms exist.
      const rank = (f: string) => (f.endsWith('.ko') ? 0 : 1);
      for (const f of names.filter((n) => MODULE_FILE_RE.test(n)).sort((a, b) => rank(a) - rank(b))) {
        const n = modnameFromPath(f);
        if (!idx.has(n)) idx.set(n, `${dir.replace(/\/+$/, '')}/${f}`);
      }
    }
    return idx;
  }

  /**
   * Resolve the modules and their dependencies into load order (dependencies
   * first). Modules already loaded or built in are still listed; load()
   * skips them.
   */
  async plan(): Promise<PlannedModule[]> {
    if (this.plannedList) return this.plannedList;
    const md = this.modulesDir();
    const search = this.searchIndex();
    const order: PlannedModule[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const requested = new Set<string>();

    const resolve = async (item: string, isDep: boolean): Promise<{ name: string; path: string | null; deps: string[] }> => {
      // depends= entries are module names: never a path, never a file outside the search paths
      if (isDep && (item === '' || item.includes('/') || item.includes('\0'))) {
        throw new KmodkitError('EINPUT', `dependency '${item}' is not a module name`, { detail: { module: item } });
      }
      const isPath = !isDep && isModulePath(item);
      let path: string | undefined;
      let fromDep: string[] | undefined;
      if (isPath) path = item;
      else {
        const n = modnameNormalize(item);
        path = search.get(n);
        if (!path && md) {
          const r = lookupName(md, n);
          if (r?.kind === 'builtin') return { name: n, path: null, deps: [] };
          if (r?.kind === 'file') {
            path = r.path;
            fromDep = r.deps.map((d) => modnameFromPath(d));
          }
        }
        if (!path) {
          if (isLoaded(n, this.opts.root ?? '')) return { name: n, path: null, deps: [] };
          const where = [...(this.opts.searchPaths ?? []), ...(md ? [md.dir] : [])];
          throw new KmodkitError('ENOENT', `Module ${n} not found${where.length ? ` in ${where.join(', ')}` : ''}`, { errno: 'ENOENT', detail: { module: n } });
        }
      }
      const { mod } = await readModuleForLoad(path);
      const name = kernelNameOf(mod, path);
      // modules.dep lists the full closure; depends= only direct ones. Both work for a DFS.
      const deps = fromDep ?? dependsOf(mod);
      return { name, path, deps };
    };

    const visit = async (item: string, isRequested: boolean, chain: string[]): Promise<void> => {
      const r = await resolve(item, !isRequested);
      if (isRequested) requested.add(r.name);
      const st = state.get(r.name);
      if (st === 'done') return;
      if (st === 'visiting') throw new KmodkitError('EINPUT', `dependency cycle: ${[...chain, r.name].join(' -> ')}`, { detail: { cycle: [...chain, r.name] } });
      state.set(r.name, 'visiting');
      for (const d of r.deps) await visit(d, false, [...chain, r.name]);
      state.set(r.name, 'done');
      if (r.path) order.push({ name: r.name, path: r.path, deps: r.deps.map((d) => modnameNormalize(d)), requested: false });
    };
    const config = this.config();
    for (const item of this.items) {
      const n = modnameNormalize(item);
      if (!isModulePath(item) && !search.has(n) && md) {
        // a name or alias through the modules directory: kmod's plan (softdeps, blacklist, options)
        await this.planThroughModprobe(md, config, item, order, state, requested);
        continue;
      }
      await visit(item, true, []);
    }
    this.plannedList = order.map((p) => ({ ...p, requested: requested.has(p.name) }));
    return this.plannedList;
  }

  private config(): ModprobeConfig {
    const c = this.opts.modprobeConfig;
    if (c === false) return emptyConfig();
    if (c && c !== true) return c;
    const dir = this.opts.modulesDir ?? modulesDirPath({ basedir: this.opts.root ?? '' }).dir;
    return readModprobeConfig({ root: this.opts.root ?? '', modulesDir: dir });
  }

  private async planThroughModprobe(md: ModulesDir, config: ModprobeConfig, item: string, order: PlannedModule[], state: Map<string, 'visiting' | 'done'>, requested: Set<string>): Promise<void> {
    const root = this.opts.root ?? '';
    const plan = planProbe(probeContext(md, config), item, { ignoreLoaded: true, ignoreCommands: this.opts.installCommands === 'ignore' });
    if (!plan.found) {
      if (isLoaded(modnameNormalize(item), root)) return;
      throw new KmodkitError('ENOENT', `Module ${item} not found in directory ${md.dir}`, { errno: 'ENOENT', detail: { module: item, modulesDir: md.dir } });
    }
    for (const t of plan.targets) {
      if (t.blacklisted) continue; // a blacklisted alias is skipped, as modprobe does
      for (const st of t.steps) {
        if (st.reason === 'requested') requested.add(st.name);
        if (state.get(st.name) === 'done') continue;
        if (st.action === 'install' && this.opts.installCommands !== 'ignore') {
          throw new KmodkitError('ECOMMAND', `modprobe.d would load ${st.name} by running '${st.command}' (${st.sources.map((s) => `${s.file}:${s.line}`).join(', ')}); kmodkit does not run configured commands (installCommands: 'ignore' loads the file instead)`, { detail: { module: st.name, command: st.command } });
        }
        if (st.path === null) {
          if (st.action === 'none' && st.required && !isLoaded(st.name, root)) throw new KmodkitError('ENOENT', `Module ${st.name} not found in directory ${md.dir}`, { errno: 'ENOENT', detail: { module: st.name } });
          continue;
        }
        state.set(st.name, 'done');
        const deps = (md.dep().get(st.name)?.deps ?? []).map((d) => modnameFromPath(d));
        order.push({ name: st.name, path: st.path, deps, requested: false, reason: st.reason, ...(st.options ? { options: st.options } : {}) });
      }
    }
  }

  /**
   * Load every module not yet in the kernel, dependencies first. Installs the
   * signal and exit hooks. On failure (with `rollback`) unloads what it loaded
   * and rethrows.
   */
  async load(): Promise<LoadedModule[]> {
    if (this.closed) throw new KmodkitError('EINPUT', 'this ModuleSet is closed');
    const plan = await this.plan();
    this.sys = this.opts.syscalls ?? (await loadSyscalls());
    this.installHooks();
    const root = this.opts.root ?? '';
    this.adopt(plan);
    try {
      for (const p of plan) {
        if (this.owned.some((o) => o.name === p.name)) continue;
        if (isLoaded(p.name, root)) continue; // someone else's: use it, never unload it
        const params = (p.requested ? findParams(this.opts.params, p.name) : undefined) ?? p.options;
        this.record({ name: p.name, path: p.path, identity: null });
        const h = await loadModule(p.path, {
          ...(params !== undefined ? { params } : {}),
          ...(this.opts.check !== undefined ? { check: this.opts.check } : {}),
          ...(this.opts.force !== undefined ? { force: this.opts.force } : {}),
          ...(this.opts.modulesDir ? { modulesDir: this.opts.modulesDir } : {}),
          ...(this.opts.target ? { target: this.opts.target } : {}),
          root,
          syscalls: this.sys,
          tool: this.opts.tool ?? 'modprobe',
          context: this.context,
        });
        this.owned.push(h);
        this.identities.set(h.name, kernelModuleIdentity(h.name, root));
        this.record({ name: h.name, path: h.path, identity: this.identities.get(h.name) ?? null }, p.name);
      }
    } catch (e) {
      this.dropPending();
      if (this.opts.rollback !== false) this.unloadOwned();
      throw e;
    }
    return [...this.owned];
  }

  // --- ownership record -----------------------------------------------------

  private entries(): OwnershipEntry[] {
    const f = this.opts.ownershipFile;
    if (!f) return [];
    const r = readOwnershipRecord(f);
    return r && r.bootId === bootId(this.opts.root ?? '') ? [...r.modules] : [];
  }

  private writeEntries(list: OwnershipEntry[]): void {
    const f = this.opts.ownershipFile;
    if (f) writeOwnershipRecord(f, { version: 1, bootId: bootId(this.opts.root ?? ''), modules: list });
  }

  /** Add or replace the entry for a module (`replaces`: the planned name it was recorded under). */
  private record(e: OwnershipEntry, replaces = e.name): void {
    if (!this.opts.ownershipFile) return;
    this.writeEntries([...this.entries().filter((x) => x.name !== e.name && x.name !== replaces), e]);
  }

  private forget(name: string): void {
    if (!this.opts.ownershipFile) return;
    this.writeEntries(this.entries().filter((x) => x.name !== name));
  }

  /** Entries still pending after a failed load: keep only those the kernel has (they may be ours). */
  private dropPending(): void {
    if (!this.opts.ownershipFile) return;
    const root = this.opts.root ?? '';
    this.writeEntries(this.entries().filter((x) => x.identity !== null || kernelModuleIdentity(x.name, root) !== null));
  }

  /**
   * Take over the modules the previous run recorded, when the kernel still
   * holds that instance: same name, same identity (or a load that was in
   * flight when the previous run died, in this boot). Entries for modules
   * no longer loaded, or loaded anew by someone else, are dropped.
   */
  private adopt(plan: readonly PlannedModule[]): void {
    if (!this.opts.ownershipFile) return;
    const root = this.opts.root ?? '';
    const keep: OwnershipEntry[] = [];
    for (const e of this.entries()) {
      const now = kernelModuleIdentity(e.name, root);
      if (now === null || (e.identity !== null && identityMismatch(e.identity, now) !== undefined)) continue;
      keep.push({ ...e, identity: now });
      if (this.owned.some((o) => o.name === e.name)) continue;
      const sys = this.sys as ModuleSyscalls;
      this.owned.push(adoptedHandle(e.name, e.path, now, () => unloadModuleSync(e.name, { syscalls: sys, root, check: false, context: this.context })));
      this.identities.set(e.name, now);
      this.adoptedNames.add(e.name);
    }
    // keep the adopted ones in plan order, so close() unloads in reverse of it
    const pos = new Map(plan.map((p, i) => [p.name, i]));
    this.owned.sort((a, b) => (pos.get(a.name) ?? -1) - (pos.get(b.name) ?? -1));
    this.writeEntries(keep);
  }

  private installHooks(): void {
    if (this.hooksInstalled) return;
    this.hooksInstalled = true;
    const signals = this.opts.signals === false ? [] : this.opts.signals ?? (['SIGINT', 'SIGTERM'] as NodeJS.Signals[]);
    for (const sig of signals) {
      const h = (): void => this.onSignal(sig);
      this.signalHandlers.set(sig, h);
      process.on(sig, h);
    }
    if (this.opts.exitHook !== false) process.on('exit', this.exitHandler);
  }

  private removeHooks(): void {
    for (const [sig, h] of this.signalHandlers) process.removeListener(sig, h);
    this.signalHandlers.clear();
    process.removeListener('exit', this.exitHandler);
  }

  private onSignal(sig: NodeJS.Signals): void {
    this.close();
    // close() removed our handlers. Anyone else listening decides what happens next.
    if (process.listenerCount(sig) > 0) return;
    const signo = (osConstants.signals as Record<string, number>)[sig] ?? 0;
    try {
      process.kill(process.pid, sig); // default action now that no listener is left
    } catch {
      /* fall through to exit */
    }
    setImmediate(() => process.exit(128 + signo));
  }

  private unloadOwned(): CloseResult {
    const unloaded: string[] = [];
    const failed: { name: string; error: unknown }[] = [];
    const sys = this.sys;
    for (const h of [...this.owned].reverse()) {
      if (!sys) break;
      const root = this.opts.root ?? '';
      const mine = this.identities.get(h.name);
      const now = kernelModuleIdentity(h.name, root);
      if (mine != null && now !== null && identityMismatch(mine, now) !== undefined) {
        // unloaded and loaded again by someone else since: not ours to remove
        const error = new KmodkitError('EFOREIGN', `not unloading ${h.name}: the module in the kernel is not the instance this set loaded`, { detail: { module: h.name } });
        failed.push({ name: h.name, error });
        (this.opts.onCloseError ?? defaultCloseError)(h.name, error);
        this.identities.delete(h.name);
        this.forget(h.name);
        continue;
      }
      try {
        unloadModuleSync(h.name, {
          syscalls: sys,
          root: this.opts.root ?? '',
          check: false,
          context: this.context,
          ...(this.opts.waitOnClose ? { wait: true } : {}),
        });
        unloaded.push(h.name);
        this.forget(h.name);
      } catch (e) {
        if (isKmodkitError(e) && e.errno === 'ENOENT') {
          unloaded.push(h.name); // already gone
          this.forget(h.name);
        } else {
          failed.push({ name: h.name, error: e });
          (this.opts.onCloseError ?? defaultCloseError)(h.name, e);
        }
      }
    }
    const gone = new Set([...unloaded, ...failed.filter((f) => isKmodkitError(f.error) && f.error.code === 'EFOREIGN').map((f) => f.name)]);
    this.owned = this.owned.filter((h) => !gone.has(h.name));
    return { unloaded, failed };
  }

  /**
   * Unload what this set loaded, in reverse order, and remove the hooks.
   * Synchronous; a second call returns the first call's result.
   */
  close(): CloseResult {
    if (this.closing) return this.closing;
    this.closed = true;
    this.removeHooks();
    this.closing = this.unloadOwned();
    return this.closing;
  }
}

/** A handle for a module a previous run loaded (per the ownership record). */
function adoptedHandle(name: string, path: string, identity: LoadedModule['identity'], unload: () => void): LoadedModule {
  return { name, path, loadedBy: 'finit', flags: 0, params: '', stripped: false, identity, unload: async () => unload() };
}

function defaultCloseError(name: string, e: unknown): void {
  const msg = e instanceof Error ? e.message : String(e);
  try {
    process.stderr.write(`kmodkit: could not unload ${name}: ${msg}\n`);
  } catch {
    /* nothing left to report to */
  }
}

function kernelNameOf(mod: KernelModule, path: string): string {
  try {
    const n = moduleInfo(mod).find((e) => e.key === 'name')?.value;
    if (n) return n;
  } catch {
    /* fall back */
  }
  return modnameFromPath(path);
}

function dependsOf(mod: KernelModule): string[] {
  try {
    return modinfoDepends(moduleInfo(mod));
  } catch {
    return [];
  }
}

function findParams(all: ModuleSetOptions['params'], name: string): ParamsInput | undefined {
  if (!all) return undefined;
  for (const [k, v] of Object.entries(all)) if (modnameNormalize(k) === name) return v;
  return undefined;
}
