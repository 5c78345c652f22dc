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
import { readdirSync, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { KmodkitError, isKmodkitError } from '../errors.js';
import { lookupName, modulesDirPath, openModulesDir, type ModulesDir } from '../io/modules-dir.js';
import { modnameFromPath, modnameNormalize } from '../modindex/names.js';
import { modinfoDepends } from '../module/modinfo.js';
import { moduleInfo, type KernelModule } from '../module/module.js';
import type { KmodTool } from './errors.js';
import type { ParamsInput } from './params-string.js';
import {
  isLoaded,
  loadModule,
  readModuleForLoad,
  unloadModuleSync,
  type ForceOption,
  type LoadedModule,
} from './loader.js';
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
}

export interface PlannedModule {
  readonly name: string;
  readonly path: string;
  /** Names of the modules it depends on. */
  readonly deps: readonly string[];
  /** Requested by the caller (not pulled in as a dependency). */
  readonly requested: boolean;
}

export interface CloseResult {
  readonly unloaded: readonly string[];
  readonly failed: readonly { name: string; error: unknown }[];
}

const MODULE_FILE_RE = /\.ko(\.(gz|xz|zst))?$/;

export class ModuleSet {
  readonly items: readonly string[];
  private readonly opts: ModuleSetOptions;
  private owned: LoadedModule[] = [];
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
  }

  /** Names of the modules this set loaded, in load order. */
  get loaded(): readonly string[] {
    return this.owned.map((m) => m.name);
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
    try {
      if (!statSync(dir).isDirectory()) return undefined;
    } catch {
      return undefined;
    }
    return openModulesDir(dir);
  }

  private searchIndex(): Map<string, string> {
    const idx = new Map<string, string>();
    for (const dir of this.opts.searchPaths ?? []) {
      let names: string[];
      try {
        names = readdirSync(dir).sort();
      } catch {
        continue;
      }
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

    const resolve = async (item: string): Promise<{ name: string; path: string | null; deps: string[] }> => {
      const isPath = item.includes('/') || MODULE_FILE_RE.test(item);
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
      const r = await resolve(item);
      if (isRequested) requested.add(r.name);
      const st = state.get(r.name);
      if (st === 'done') return;
      if (st === 'visiting') throw new KmodkitError('EINPUT', `dependency cycle: ${[...chain, r.name].join(' -> ')}`, { detail: { cycle: [...chain, r.name] } });
      state.set(r.name, 'visiting');
      for (const d of r.deps) await visit(d, false, [...chain, r.name]);
      state.set(r.name, 'done');
      if (r.path) order.push({ name: r.name, path: r.path, deps: r.deps.map((d) => modnameNormalize(d)), requested: false });
    };
    for (const item of this.items) await visit(item, true, []);
    this.plannedList = order.map((p) => ({ ...p, requested: requested.has(p.name) }));
    return this.plannedList;
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
    const companions: KernelModule[] = [];
    try {
      for (const p of plan) {
        if (this.owned.some((o) => o.name === p.name)) continue;
        if (isLoaded(p.name, root)) continue; // someone else's: use it, never unload it
        const params = p.requested ? findParams(this.opts.params, p.name) : undefined;
        const h = await loadModule(p.path, {
          ...(params !== undefined ? { params } : {}),
          ...(this.opts.check !== undefined ? { check: this.opts.check } : {}),
          ...(this.opts.force !== undefined ? { force: this.opts.force } : {}),
          ...(this.opts.modulesDir ? { modulesDir: this.opts.modulesDir } : {}),
          ...(this.opts.target ? { target: this.opts.target } : {}),
          root,
          syscalls: this.sys,
          tool: this.opts.tool ?? 'modprobe',
          companions,
        });
        this.owned.push(h);
        try {
          companions.push((await readModuleForLoad(p.path)).mod);
        } catch {
          /* the check just sees fewer exports */
        }
      }
    } catch (e) {
      if (this.opts.rollback !== false) this.unloadOwned();
      throw e;
    }
    return [...this.owned];
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
      try {
        unloadModuleSync(h.name, {
          syscalls: sys,
          root: this.opts.root ?? '',
          check: false,
          ...(this.opts.waitOnClose ? { wait: true } : {}),
        });
        unloaded.push(h.name);
      } catch (e) {
        if (isKmodkitError(e) && e.errno === 'ENOENT') {
          unloaded.push(h.name); // already gone
        } else {
          failed.push({ name: h.name, error: e });
          (this.opts.onCloseError ?? defaultCloseError)(h.name, e);
        }
      }
    }
    const gone = new Set(unloaded);
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
