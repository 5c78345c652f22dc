/**
 * ModuleSet: the kernel modules a daemon needs while it runs.
 *
 *   const set = new ModuleSet(['kmodkit_consumer'], { searchPaths: ['/opt/app/ko'] });
 *   await set.load();   // dependencies first; remembers what IT loaded
 *   ...                 // SIGINT/SIGTERM/exit unload them in reverse order
 *   set.close();        // or explicitly; safe to call twice
 *
 * Dependencies come from modules.dep for modules found there, or from the
 * `depends=` of module files found in `searchPaths`; plan() is that
 * resolution alone (the dry run). A module that is already in the kernel
 * (or built in) is used but never unloaded by the set. What the set loaded
 * is in its LoadContext's registry; with `ownershipFile` it is also kept in
 * a record (lib/io/ownership-record.ts) that a restarted daemon adopts from
 * — only its own plan's modules, each confirmed against the kernel.
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
import { readOwnershipRecord, recordLocationProblem, writeOwnershipRecord, type OwnershipEntry } from '../io/ownership-record.js';
import { readModuleForLoad } from '../io/open.js';
import { directoryNames, isDirectoryPath } from '../io/paths.js';
import { systemStatus, type SystemStatus } from '../io/status.js';
import type { ModuleStatusReport } from '../check/status.js';
import { bootId, identityMismatch, kernelModuleIdentity, type ModuleIdentity } from '../io/sysfs.js';
import { emptyConfig, type ModprobeConfig } from '../modprobe/config.js';
import { isModulePath } from '../io/module-file.js';
import { planProbe, probeContext } from '../modprobe/resolve.js';
import { MODULE_FILE_RE, modnameFromPath, modnameNormalize } from '../modindex/names.js';
import { modinfoDepends } from '../module/modinfo.js';
import { moduleInfo, type KernelModule } from '../module/module.js';
import type { KmodTool } from './errors.js';
import type { ParamsInput } from './params-string.js';
import { kernelName, newLoadContext, sameInstance, type LoadContext } from './context.js';
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
   * kernel still holds the same instance (srcversion, build-id, size, load
   * address) in the same boot. Anything else already loaded stays someone
   * else's. Its directory must be writable by nobody but root and this
   * process's user (load() refuses otherwise, 'EINPUT'); a record owned by
   * anyone else, writable by group or others, or malformed is ignored with
   * one warning (see docs/loading.md).
   */
  ownershipFile?: string;
  /**
   * Called with each warning about the ownership record (a record ignored,
   * entries not adopted); default: process.emitWarning() with the code
   * 'KMODKIT_OWNERSHIP_RECORD'.
   */
  onWarning?: (message: string) => void;
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

/** One module a ModuleSet holds, as status() reports it. */
export interface SetModuleStatus {
  readonly name: string;
  /** The file the set loaded it from (an adopted module: the file its plan names). */
  readonly path: string;
  /** 'loaded' by this set, or 'adopted' from a previous run's ownership record. */
  readonly origin: 'loaded' | 'adopted';
  /**
   * The kernel's instance against the one the set loaded or adopted:
   * 'same'; 'changed' (unloaded and loaded again by someone else: `reason`);
   * 'unloaded' (no longer in the kernel); 'unknown' (the kernel showed no identity at load).
   */
  readonly instance: 'same' | 'changed' | 'unloaded' | 'unknown';
  readonly reason?: string;
  /** systemStatus()'s report (state, refcount, parameters, file drift against `path`, trust); null when not loaded. */
  readonly report: ModuleStatusReport | null;
}

export interface ModuleSetStatus {
  readonly modules: readonly SetModuleStatus[];
  /** The kernel's side (taint mask, sig_enforce, lockdown, index). */
  readonly kernel: SystemStatus['kernel'];
  readonly missing: readonly string[];
}

export interface CloseResult {
  readonly unloaded: readonly string[];
  readonly failed: readonly { name: string; error: unknown }[];
}

export class ModuleSet {
  readonly items: readonly string[];
  private readonly opts: ModuleSetOptions;
  /**
   * The members of this set, in load order: handles of the modules it loaded
   * or adopted. What is known about each instance (file, image, the kernel's
   * identity of it) is in the context's registry (`context.loaded`).
   */
  private owned: LoadedModule[] = [];
  private readonly ownedNames = new Set<string>();
  /** A load in flight (written to the ownership record before the syscall). */
  private pending: { readonly name: string; readonly path: string } | undefined;
  private readonly context: LoadContext;
  private adoptedList: readonly string[] = [];
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

  /** Names of the modules this set loaded (or adopted) and has not unloaded, in load order. */
  get loaded(): readonly string[] {
    return this.owned.map((m) => m.name);
  }

  /** Modules a previous run (per the ownership record) loaded and this set took over at load(). */
  get adopted(): readonly string[] {
    return this.adoptedList;
  }

  /** Handles of the modules this set loaded (or adopted) and has not unloaded. */
  get handles(): readonly LoadedModule[] {
    return [...this.owned];
  }

  /**
   * What the set holds now, for a service to report: each module it loaded
   * or adopted, whether the kernel still holds that very instance, and
   * systemStatus()'s report of it with its file compared to the one the set
   * loaded ("file replaced since load", "file gone"). `trust` as in
   * systemStatus() (default false here: no /proc/keys or kernel image read).
   */
  async status(options: { trust?: boolean } = {}): Promise<ModuleSetStatus> {
    const root = this.opts.root ?? '';
    const owned = [...this.owned];
    const sys = await systemStatus({
      root, names: owned.map((h) => h.name), trust: options.trust ?? false,
      files: Object.fromEntries(owned.map((h) => [h.name, h.path])),
      ...(this.opts.modulesDir !== undefined ? { modulesDir: this.opts.modulesDir } : {}),
    });
    const modules = owned.map((h): SetModuleStatus => {
      const entry = this.context.loaded.get(h.name);
      const now = kernelModuleIdentity(h.name, root);
      const recorded = entry?.instance ?? null;
      const why = now && recorded ? sameInstance(recorded, now) : undefined;
      const instance = now === null ? 'unloaded' : recorded === null ? 'unknown' : why !== undefined ? 'changed' : 'same';
      return {
        name: h.name, path: h.path, origin: entry?.origin ?? 'loaded', instance, ...(why !== undefined ? { reason: why } : {}),
        report: sys.modules.find((m) => m.name === h.name) ?? null,
      };
    });
    return { modules, kernel: sys.kernel, missing: sys.missing };
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
   * The dry run: resolve the modules and their dependencies into load order
   * (dependencies first) without loading anything or touching the kernel.
   * Reads the module files (and modules.dep, modprobe.d) to do so; refuses
   * what load() would refuse for the same reasons (a module not found, a
   * dependency cycle, a `depends=` entry that is not a name, an install
   * command). Modules already loaded or built in are still listed; load()
   * skips them. The result is cached: load() uses the same plan.
   *
   * Linear in the number of modules and dependency edges: each module file
   * is read once, and the depth-first walk keeps one stack.
   */
  async plan(): Promise<PlannedModule[]> {
    if (this.plannedList) return this.plannedList;
    const md = this.modulesDir();
    const search = this.searchIndex();
    const order: PlannedModule[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const requested = new Set<string>();

    interface Resolved { readonly name: string; readonly path: string | null; readonly deps: readonly string[] }
    /** Each dependency name is resolved (and its file read) once. */
    const depCache = new Map<string, Resolved>();
    const resolveUncached = async (item: string, isDep: boolean): Promise<Resolved> => {
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
      // modules.dep lists the full closure; depends= only direct ones. Both work for a DFS.
      return { name: kernelName(mod, path), path, deps: fromDep ?? dependsOf(mod) };
    };
    const resolveDep = async (item: string): Promise<Resolved> => {
      const key = item.includes('/') || item.includes('\0') || item === '' ? item : modnameNormalize(item);
      let r = depCache.get(key);
      if (!r) {
        r = await resolveUncached(item, true);
        depCache.set(key, r);
      }
      return r;
    };

    /** Depth-first, dependencies before dependents; an explicit stack (its names are the chain a cycle reports). */
    const visit = async (item: string): Promise<void> => {
      const first = await resolveUncached(item, false);
      requested.add(first.name);
      const stack: { readonly r: Resolved; next: number }[] = [];
      const enter = (r: Resolved): void => {
        const st = state.get(r.name);
        if (st === 'done') return;
        if (st === 'visiting') {
          const chain = [...stack.map((f) => f.r.name), r.name];
          throw new KmodkitError('EINPUT', `dependency cycle: ${chain.join(' -> ')}`, { detail: { cycle: chain } });
        }
        state.set(r.name, 'visiting');
        stack.push({ r, next: 0 });
      };
      enter(first);
      while (stack.length > 0) {
        const top = stack[stack.length - 1]!;
        if (top.next < top.r.deps.length) {
          enter(await resolveDep(top.r.deps[top.next++]!));
          continue;
        }
        stack.pop();
        state.set(top.r.name, 'done');
        if (top.r.path) order.push({ name: top.r.name, path: top.r.path, deps: top.r.deps.map((d) => modnameNormalize(d)), requested: false });
      }
    };
    const config = this.config();
    for (const item of this.items) {
      const n = modnameNormalize(item);
      if (!isModulePath(item) && !search.has(n) && md) {
        // a name or alias through the modules directory: kmod's plan (softdeps, blacklist, options)
        await this.planThroughModprobe(md, config, item, order, state, requested);
        continue;
      }
      await visit(item);
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
    const f = this.opts.ownershipFile;
    if (f) {
      // before anything is loaded: a record kmodkit could not write safely is a configuration error
      const problem = recordLocationProblem(f);
      if (problem) throw new KmodkitError('EINPUT', `ownership record ${f}: ${problem}`, { file: f });
    }
    this.sys = this.opts.syscalls ?? (await loadSyscalls());
    this.installHooks();
    const root = this.opts.root ?? '';
    this.adopt(plan);
    try {
      for (const p of plan) {
        if (this.ownedNames.has(p.name)) continue;
        if (isLoaded(p.name, root)) continue; // someone else's: use it, never unload it
        const params = (p.requested ? findParams(this.opts.params, p.name) : undefined) ?? p.options;
        this.pending = { name: p.name, path: p.path };
        this.saveRecord();
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
        this.pending = undefined;
        this.own(h);
        this.saveRecord();
      }
    } catch (e) {
      this.pending = undefined;
      if (this.opts.rollback !== false) this.unloadOwned();
      this.saveRecordQuietly();
      throw e;
    }
    return [...this.owned];
  }

  private own(h: LoadedModule): void {
    this.owned.push(h);
    this.ownedNames.add(h.name);
  }

  private disown(names: ReadonlySet<string>): void {
    this.owned = this.owned.filter((h) => !names.has(h.name));
    for (const n of names) this.ownedNames.delete(n);
  }

  // --- ownership record -----------------------------------------------------

  private warn(message: string): void {
    (this.opts.onWarning ?? defaultWarning)(message);
  }

  /**
   * Write the record from what the set holds: its members with the kernel's
   * identity of each instance (from the registry), then the load in flight
   * with a null identity. No members and nothing in flight: the record is removed.
   */
  private saveRecord(): void {
    const f = this.opts.ownershipFile;
    if (!f) return;
    const modules: OwnershipEntry[] = this.owned.map((h) => ({ name: h.name, path: h.path, identity: this.context.loaded.get(h.name)?.instance ?? null }));
    if (this.pending && !this.ownedNames.has(this.pending.name)) modules.push({ ...this.pending, identity: null });
    writeOwnershipRecord(f, { version: 1, bootId: bootId(this.opts.root ?? ''), modules });
  }

  /**
   * Take over the modules the previous run recorded. The record is believed
   * only when readOwnershipRecord() finds it safe (owner, mode, size, shape)
   * and it is from this boot; otherwise it is ignored with one warning. An
   * entry is adopted only when it names a module of this set's plan, carries
   * an identity (a load that was still in flight is not), and the kernel
   * holds that very instance now (sameInstance()). Entries not adopted are
   * dropped from the record, and named in one warning unless the module is
   * simply no longer loaded.
   */
  private adopt(plan: readonly PlannedModule[]): void {
    const f = this.opts.ownershipFile;
    if (!f) return;
    const root = this.opts.root ?? '';
    const read = readOwnershipRecord(f);
    if (read.status === 'absent') return;
    if (read.status === 'untrusted') {
      this.warn(`ownership record ${f} ignored: ${read.reason}`);
      return;
    }
    const boot = bootId(root);
    if (boot === null || read.record.bootId !== boot) {
      if (boot === null) this.warn(`ownership record ${f} ignored: the boot id (/proc/sys/kernel/random/boot_id) cannot be read, so the record's boot cannot be told from this one`);
      return; // a record from an earlier boot describes nothing that is loaded now
    }
    const planned = new Map(plan.map((p) => [p.name, p]));
    const notAdopted: string[] = [];
    const adopted: string[] = [];
    const seen = new Set<string>();
    for (const e of read.record.modules) {
      if (seen.has(e.name)) {
        notAdopted.push(`${e.name} (listed twice)`);
        continue;
      }
      seen.add(e.name);
      const p = planned.get(e.name);
      if (!p) {
        notAdopted.push(`${e.name} (not in this set's plan)`);
        continue;
      }
      if (e.identity === null) {
        notAdopted.push(`${e.name} (its load had not completed; a module loaded then cannot be told from someone else's)`);
        continue;
      }
      const now = kernelModuleIdentity(e.name, root);
      if (now === null) continue; // no longer loaded: nothing to take over
      const why = sameInstance(e.identity, now);
      if (why !== undefined) {
        notAdopted.push(`${e.name} (the kernel's instance is not the recorded one: ${why})`);
        continue;
      }
      if (this.ownedNames.has(e.name)) continue;
      const sys = this.sys as ModuleSyscalls;
      this.context.loaded.set(e.name, { name: e.name, path: p.path, origin: 'adopted', image: {}, instance: now, since: Date.now() });
      this.own(adoptedHandle(e.name, p.path, now, () => unloadModuleSync(e.name, { syscalls: sys, root, check: false, context: this.context })));
      adopted.push(e.name);
    }
    if (notAdopted.length) this.warn(`ownership record ${f}: not adopted: ${notAdopted.join('; ')}`);
    // keep the adopted ones in plan order, so close() unloads in reverse of it
    const pos = new Map(plan.map((p, i) => [p.name, i]));
    this.owned.sort((a, b) => (pos.get(a.name) ?? -1) - (pos.get(b.name) ?? -1));
    this.adoptedList = adopted;
    this.saveRecord();
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
    const root = this.opts.root ?? '';
    for (const h of [...this.owned].reverse()) {
      if (!sys) break;
      const mine = this.context.loaded.get(h.name)?.instance;
      const now = kernelModuleIdentity(h.name, root);
      if (mine != null && now !== null && identityMismatch(mine, now) !== undefined) {
        // unloaded and loaded again by someone else since: not ours to remove
        const error = new KmodkitError('EFOREIGN', `not unloading ${h.name}: the module in the kernel is not the instance this set loaded`, { detail: { module: h.name } });
        failed.push({ name: h.name, error });
        (this.opts.onCloseError ?? defaultCloseError)(h.name, error);
        this.context.loaded.delete(h.name);
        this.disown(new Set([h.name]));
        this.saveRecordQuietly();
        continue;
      }
      try {
        unloadModuleSync(h.name, {
          syscalls: sys,
          root,
          check: false,
          context: this.context,
          ...(this.opts.waitOnClose ? { wait: true } : {}),
        });
        unloaded.push(h.name);
      } catch (e) {
        if (isKmodkitError(e) && e.errno === 'ENOENT') {
          unloaded.push(h.name); // already gone
          this.context.loaded.delete(h.name);
        } else {
          failed.push({ name: h.name, error: e });
          (this.opts.onCloseError ?? defaultCloseError)(h.name, e);
          continue;
        }
      }
      this.disown(new Set([h.name]));
      this.saveRecordQuietly();
    }
    return { unloaded, failed };
  }

  /** saveRecord() where nothing may throw (close(), the exit hook): a failure is reported through onCloseError. */
  private saveRecordQuietly(): void {
    try {
      this.saveRecord();
    } catch (e) {
      (this.opts.onCloseError ?? defaultCloseError)(this.opts.ownershipFile ?? '', e);
    }
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
function adoptedHandle(name: string, path: string, instance: ModuleIdentity, unload: () => void): LoadedModule {
  const identity: ModuleIdentity = { ...(instance.srcversion ? { srcversion: instance.srcversion } : {}), ...(instance.buildId ? { buildId: instance.buildId } : {}) };
  return { name, path, loadedBy: 'finit', flags: 0, params: '', stripped: false, identity, instance, unload: async () => unload() };
}

function defaultWarning(message: string): void {
  process.emitWarning(message, { code: 'KMODKIT_OWNERSHIP_RECORD' });
}

function defaultCloseError(name: string, e: unknown): void {
  const msg = e instanceof Error ? e.message : String(e);
  try {
    process.stderr.write(`kmodkit: could not unload ${name}: ${msg}\n`);
  } catch {
    /* nothing left to report to */
  }
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
