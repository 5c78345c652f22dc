/**
 * What `modprobe NAME` would do, computed as kmod 30's libkmod does it,
 * without touching the kernel:
 *
 * - lookup (kmod_module_new_from_lookup): config `alias` lines (fnmatch),
 *   a module name in modules.dep, `symbol:` aliases (modules.symbols),
 *   install/remove command names, modules.alias (fnmatch, every match, in
 *   module order), built-in names (modules.builtin), built-in aliases
 *   (modules.builtin.modinfo); the first source with a match wins;
 * - probe list per matched module (kmod_module_get_probe_list): its
 *   dependencies most basic first, each preceded by its pre-softdeps and
 *   followed by its post-softdeps (each softdep is itself looked up and
 *   expanded), then the module itself the same way; a module is listed once;
 * - options: every `options` line naming the module or the alias it was
 *   reached by, then (for the module asked for) the caller's own;
 * - blacklist: a module reached through an alias is skipped when
 *   blacklisted; a name asked for explicitly is not (unless
 *   `useBlacklist`, modprobe -b).
 *
 * kmod keeps one object per module name (and one per name+alias for an
 * alias match); that identity decides what "listed once" means, so it is
 * kept here too.
 */
import { depPath, type ModulesDir } from '../modindex/modules-dir.js';
import { decodeText } from '../bytes/reader.js';
import { aliasNormalize, fnmatch, modnameFromPath } from '../modindex/names.js';
import type { ConfigSource, ModprobeConfig } from './config.js';

export type ModuleInitState = 'builtin' | 'live' | 'coming' | 'going' | 'absent';

/** One kmod_module: a name, or a name reached through an alias. */
export interface Mod {
  readonly name: string;
  readonly alias: string | null;
  builtin: boolean | undefined;
  install: string | null | undefined;
  installSource?: ConfigSource | undefined;
  path: string | null | undefined;
  deps: Mod[] | undefined;
  visited: boolean;
  required: boolean;
  ignorecmd: boolean;
}

export interface ProbeContext {
  readonly dir: string;
  readonly md: ModulesDir;
  readonly config: ModprobeConfig;
  /** State of a module in the running kernel (default: always absent). */
  readonly initState: (name: string) => ModuleInitState;
  readonly mods: Map<string, Mod>;
}

/**
 * A fresh lookup context (kmod_new): module objects start unvisited. The
 * ModulesDir keeps the indexes it opened, so contexts of one directory may
 * share it.
 */
export function probeContext(md: ModulesDir, config: ModprobeConfig, opts: { initState?: (name: string) => ModuleInitState } = {}): ProbeContext {
  return { dir: md.dir, md, config, initState: opts.initState ?? (() => 'absent'), mods: new Map() };
}

function getMod(ctx: ProbeContext, name: string, alias: string | null): Mod {
  const key = alias === null ? name : `${name}\\${alias}`;
  let m = ctx.mods.get(key);
  if (!m) {
    m = { name, alias, builtin: undefined, install: undefined, path: undefined, deps: undefined, visited: false, required: false, ignorecmd: false };
    ctx.mods.set(key, m);
  }
  return m;
}

/**
 * kmod_module_new_from_lookup: the modules a name or alias stands for (empty
 * when nothing matches); null when the alias is malformed (unbalanced brackets).
 */
function lookupMods(ctx: ProbeContext, given: string): Mod[] | null {
  const name = aliasNormalize(given);
  if (name === null) return null;
  // 1. config aliases
  const fromConfig = ctx.config.aliases.filter((a) => fnmatch(a.pattern, name)).map((a) => getMod(ctx, a.module, a.pattern));
  if (fromConfig.length) return fromConfig;
  // 2. modules.dep
  if (!name.includes(':') && ctx.md.depEntry(name)) return [getMod(ctx, name, null)];
  // 3. modules.symbols
  if (name.startsWith('symbol:')) {
    const s = (ctx.md.search('symbols', name) ?? []).map((m) => getMod(ctx, m, name));
    if (s.length) return s;
  }
  // 4. install, then remove command names
  const inst = ctx.config.installs.find((c) => c.module === name);
  if (inst) {
    const m = getMod(ctx, name, null);
    m.install = inst.command;
    m.installSource = inst.source;
    return [m];
  }
  if (ctx.config.removes.some((c) => c.module === name)) return [getMod(ctx, name, null)];
  // 5. modules.alias
  const a = (ctx.md.search('alias', name) ?? []).map((m) => getMod(ctx, m, name));
  if (a.length) return a;
  // 6. modules.builtin
  if (ctx.md.isBuiltin(name)) {
    const m = getMod(ctx, name, null);
    m.builtin = true;
    return [m];
  }
  // 7. built-in aliases
  const b = (ctx.md.search('builtin.alias', name) ?? []).map((m) => getMod(ctx, m, name));
  for (const m of b) m.builtin = true;
  return b;
}

function modPath(ctx: ProbeContext, m: Mod): string | null {
  if (m.path === undefined) {
    const e = ctx.md.depEntry(m.name);
    m.path = e ? depPath(ctx.md, e.path) : null;
  }
  return m.path;
}

/** Dependencies, most basic first (modules.dep lists them users-first). */
function modDeps(ctx: ProbeContext, m: Mod): Mod[] {
  if (m.deps === undefined) {
    const e = ctx.md.depEntry(m.name);
    m.deps = [];
    for (const d of [...(e?.deps ?? [])].reverse()) {
      const dm = getMod(ctx, modnameFromPath(d), null);
      if (dm.path === undefined) dm.path = depPath(ctx.md, d);
      m.deps.push(dm);
    }
  }
  return m.deps;
}

function isBuiltin(ctx: ProbeContext, m: Mod): boolean {
  if (m.builtin === undefined) m.builtin = ctx.md.isBuiltin(m.name);
  return m.builtin;
}

function initState(ctx: ProbeContext, m: Mod): ModuleInitState {
  return isBuiltin(ctx, m) ? 'builtin' : ctx.initState(m.name);
}

function inKernel(ctx: ProbeContext, m: Mod): boolean {
  const s = initState(ctx, m);
  return s === 'live' || s === 'builtin'; // kmod's module_is_inkernel: a module still coming is not in yet
}

function softdepsOf(ctx: ProbeContext, m: Mod): { pre: Mod[]; post: Mod[]; source?: ConfigSource } {
  const d = ctx.config.softdeps.find((s) => fnmatch(s.module, m.name));
  if (!d) return { pre: [], post: [] };
  const look = (names: readonly string[]) => names.flatMap((n) => lookupMods(ctx, n) ?? []);
  return { pre: look(d.pre), post: look(d.post), source: d.source };
}

function installOf(ctx: ProbeContext, m: Mod): { command: string; source: ConfigSource } | null {
  if (m.install === undefined) {
    const c = ctx.config.installs.find((i) => fnmatch(i.module, m.name));
    m.install = c ? c.command : null;
    m.installSource = c?.source;
  }
  return m.install === null ? null : { command: m.install, source: m.installSource as ConfigSource };
}

interface ProbeItem { readonly mod: Mod; readonly reason: PlanReason }

function fillSoftdep(ctx: ProbeContext, m: Mod, reason: PlanReason, list: ProbeItem[]): void {
  const { pre, post } = softdepsOf(ctx, m);
  for (const p of pre) probeListInto(ctx, p, false, false, 'softdep-pre', list);
  list.push({ mod: m, reason });
  m.ignorecmd = pre.length > 0 || post.length > 0;
  for (const p of post) probeListInto(ctx, p, false, false, 'softdep-post', list);
}

function probeListInto(ctx: ProbeContext, m: Mod, required: boolean, ignorecmd: boolean, reason: PlanReason, list: ProbeItem[]): void {
  if (m.visited) return;
  m.visited = true;
  const deps = modDeps(ctx, m);
  if (required) {
    m.required = true;
    for (const d of deps) d.required = true;
  }
  for (const d of deps) fillSoftdep(ctx, d, reason === 'requested' ? 'dependency' : reason, list);
  if (ignorecmd) {
    list.push({ mod: m, reason });
    m.ignorecmd = true;
  } else fillSoftdep(ctx, m, reason, list);
}

export type PlanReason = 'requested' | 'dependency' | 'softdep-pre' | 'softdep-post';

/** One step of a plan: what modprobe would insert (or run, or find built in). */
export interface PlanStep {
  /** Kernel module name. */
  readonly name: string;
  /** The alias it was reached by, when looked up through one. */
  readonly alias: string | null;
  readonly reason: PlanReason;
  /** 'insmod' a file, 'install' (run the configured command), 'builtin' (nothing to load), 'none' (no file and not built in). */
  readonly action: 'insmod' | 'install' | 'builtin' | 'none';
  readonly path: string | null;
  /** The install command (action 'install'), verbatim. */
  readonly command?: string;
  /** The parameter string, as kmod assembles it (config options, then the caller's for the requested module). */
  readonly options: string;
  /** The config lines the options, install command and softdeps came from. */
  readonly sources: readonly ConfigSource[];
  /** Already in the kernel (live or built in) by the context's view. */
  readonly inKernel: boolean;
  /** kmod ignores a failure of this step (softdeps and modules not required). */
  readonly required: boolean;
}

export interface TargetPlan {
  /** The module this lookup result stands for. */
  readonly name: string;
  readonly alias: string | null;
  /** Skipped: blacklisted (reached by alias, or `useBlacklist`). */
  readonly blacklisted: boolean;
  /** Skipped: already in the kernel before anything is done (without ignoreLoaded). */
  readonly alreadyLoaded: boolean;
  readonly steps: readonly PlanStep[];
  /**
   * A dependency cycle in modules.dep among the modules this target needs
   * (names, the first repeated at the end), or null. kmod prints the plan
   * anyway (`--show-depends` exits 0); no kernel can load it: each module of
   * the cycle needs another's symbols first.
   */
  readonly dependencyCycle: readonly string[] | null;
}

export interface Plan {
  readonly query: string;
  /** The modules directory searched. */
  readonly dir: string;
  /** False when nothing matched (kmod: "Module X not found in directory D"). */
  readonly found: boolean;
  readonly targets: readonly TargetPlan[];
}

export interface PlanOptions {
  /** Parameters for the module asked for (modprobe's command-line words, already joined). */
  extraOptions?: string;
  /** -i: ignore install commands and the requested module's softdeps. */
  ignoreCommands?: boolean;
  /** -b: apply the blacklist to explicit names too. */
  useBlacklist?: boolean;
  /** --show-depends: do not skip what is already in the kernel. */
  ignoreLoaded?: boolean;
}

function optionsOf(ctx: ProbeContext, m: Mod): { text: string | null; sources: ConfigSource[] } {
  const parts: string[] = [];
  const sources: ConfigSource[] = [];
  for (const o of ctx.config.options) {
    if (o.module !== m.name && (m.alias === null || o.module !== m.alias)) continue;
    if (o.options.length < 1) continue;
    parts.push(o.options);
    sources.push(o.source);
  }
  return { text: parts.length ? parts.join(' ') : null, sources };
}

function concatOptions(opt: string | null, extra: string | null): string {
  if ((opt ?? '') === '' && (extra ?? '') === '') return '';
  return (opt !== null ? `${opt} ` : '') + (extra ?? '');
}

function isBlacklisted(ctx: ProbeContext, m: Mod): boolean {
  return ctx.config.blacklists.some((b) => b.module === m.name);
}

/** The plan for one name or alias, as modprobe would carry it out. */
export function planProbe(ctx: ProbeContext, nameOrAlias: string, opts: PlanOptions = {}): Plan {
  const mods = lookupMods(ctx, nameOrAlias);
  if (!mods || mods.length === 0) return { query: nameOrAlias, dir: ctx.dir, found: false, targets: [] };
  return planTargets(ctx, nameOrAlias, mods, opts);
}

/**
 * The plan for a module file given by path (kmod 31+'s `modprobe /path/x.ko`,
 * `modprobe ./x.ko`: kmod_module_new_from_path). `path` is used as given
 * (kmod makes a relative one absolute against the working directory first);
 * the module's name comes from the file name, and its dependencies,
 * softdeps, options and install commands are looked up by that name, as for
 * a module found in modules.dep.
 */
export function planProbeFile(ctx: ProbeContext, path: string, opts: PlanOptions = {}): Plan {
  const m = getMod(ctx, modnameFromPath(path), null);
  m.path = path;
  m.builtin = false;
  return planTargets(ctx, path, [m], opts);
}

function planTargets(ctx: ProbeContext, query: string, mods: readonly Mod[], opts: PlanOptions): Plan {
  const targets: TargetPlan[] = [];
  for (const mod of mods) {
    const base = { name: mod.name, alias: mod.alias };
    if (!opts.ignoreLoaded && inKernel(ctx, mod)) {
      targets.push({ ...base, blacklisted: false, alreadyLoaded: true, steps: [], dependencyCycle: null });
      continue;
    }
    if ((mod.alias !== null || opts.useBlacklist) && isBlacklisted(ctx, mod)) {
      targets.push({ ...base, blacklisted: true, alreadyLoaded: false, steps: [], dependencyCycle: null });
      continue;
    }
    for (const m of ctx.mods.values()) {
      m.visited = false;
      m.required = false;
    }
    const list: ProbeItem[] = [];
    probeListInto(ctx, mod, true, !!opts.ignoreCommands, 'requested', list);
    const steps = list.map(({ mod: m, reason }): PlanStep => {
      const o = optionsOf(ctx, m);
      const options = concatOptions(o.text, m === mod ? opts.extraOptions ?? null : null);
      const sources = [...o.sources];
      const sd = ctx.config.softdeps.find((s) => fnmatch(s.module, m.name));
      if (sd) sources.push(sd.source);
      const common = { name: m.name, alias: m.alias, reason, options, inKernel: inKernel(ctx, m), required: m.required };
      const cmd = opts.ignoreCommands && m.ignorecmd ? null : installOf(ctx, m);
      if (cmd && !m.ignorecmd) return { ...common, action: 'install', path: modPath(ctx, m), command: cmd.command, sources: [...sources, cmd.source] };
      const path = modPath(ctx, m);
      if (path !== null) return { ...common, action: 'insmod', path, sources };
      return { ...common, action: initState(ctx, m) === 'builtin' ? 'builtin' : 'none', path: null, sources };
    });
    targets.push({ ...base, blacklisted: false, alreadyLoaded: false, steps, dependencyCycle: dependencyCycle(ctx, mod.name) });
  }
  return { query, dir: ctx.dir, found: true, targets };
}

/**
 * The first cycle reachable from `name` in modules.dep (depth first, in
 * modules.dep order), as names with the first repeated at the end; null when
 * there is none. Each module is visited once, so the work is bounded by the
 * size of modules.dep.
 */
export function dependencyCycle(ctx: ProbeContext, name: string): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (n: string): string[] | null => {
    state.set(n, 'open');
    path.push(n);
    for (const d of ctx.md.depEntry(n)?.deps ?? []) {
      const dn = modnameFromPath(d);
      const st = state.get(dn);
      if (st === 'open') return [...path.slice(path.indexOf(dn)), dn];
      if (st === undefined) {
        const c = visit(dn);
        if (c) return c;
      }
    }
    path.pop();
    state.set(n, 'done');
    return null;
  };
  return visit(name);
}

/** `modprobe -R`: the module names a name or alias resolves to. */
export function resolveAliasNames(ctx: ProbeContext, nameOrAlias: string): string[] | null {
  const mods = lookupMods(ctx, nameOrAlias);
  return mods && mods.length ? mods.map((m) => m.name) : null;
}

/** The remove-side view of a module: its softdeps, remove command and dependencies (for modprobe -r). */
export function removeInfo(ctx: ProbeContext, nameOrAlias: string): { name: string; pre: string[]; post: string[]; remove: string | null; deps: string[] }[] | null {
  const mods = lookupMods(ctx, nameOrAlias);
  if (!mods || mods.length === 0) return null;
  return mods.map((m) => {
    const sd = softdepsOf(ctx, m);
    const rm = ctx.config.removes.find((r) => fnmatch(r.module, m.name));
    return { name: m.name, pre: sd.pre.map((p) => p.name), post: sd.post.map((p) => p.name), remove: rm ? rm.command : null, deps: modDeps(ctx, m).map((d) => d.name) };
  });
}

/** `modprobe -c`: the configuration, then the alias and symbol indexes. */
export function showConfig(ctx: ProbeContext): string {
  const c = ctx.config;
  let out = '';
  for (const b of c.blacklists) out += `blacklist ${b.module}\n`;
  for (const i of c.installs) out += `install ${i.module} ${i.command}\n`;
  for (const r of c.removes) out += `remove ${r.module} ${r.command}\n`;
  for (const a of c.aliases) out += `alias ${a.pattern} ${a.module}\n`;
  for (const o of c.options) out += `options ${o.module} ${o.options}\n`;
  for (const s of c.softdeps) out += `softdep ${s.module} ${(s.pre.length ? `pre: ${s.pre.join(' ')}` : '') + (s.post.length ? `post: ${s.post.join(' ')}` : '')}\n`;
  if (c.kmod !== '30') for (const w of c.weakdeps) out += `weakdep ${w.module} ${w.deps.join(' ')}\n`;
  out += '\n# End of configuration files. Dumping indexes now:\n\n';
  out += ctx.md.dump('alias');
  out += ctx.md.dump('symbols');
  return out;
}
