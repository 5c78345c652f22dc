/**
 * Loading and unloading kernel modules from Node, without modprobe/rmmod:
 *
 *   const h = await loadModule('/path/x.ko.zst', { params: { debug: 1 } });
 *   ...
 *   await h.unload();
 *
 * loadModule():
 *   1. resolves a name or alias through lib/modprobe (a path is used as is; a bare name never opens ./name);
 *   2. runs the pre-flight check against the running kernel and refuses
 *      (KmodkitError 'EREJECTED', with the findings) a module the kernel
 *      would reject, unless forced (or `check: false` / `'warn'`);
 *   3. picks the syscall the way kmod does: finit_module(2) for an
 *      uncompressed file, or a compressed one whose format the kernel names
 *      in /sys/module/compression (MODULE_INIT_COMPRESSED_FILE); otherwise
 *      the image is decompressed here and given to init_module(2). ENOSYS from
 *      finit_module falls back to init_module; any other errno does not.
 *      Forcing sets MODULE_INIT_IGNORE_* on finit, and on the init_module
 *      path strips the image (lib/load/strip.ts) as kmod does.
 *
 * unloadModule() is rmmod: the same pre-checks (builtin, not loaded,
 * holders, refcount), then delete_module(2) with O_NONBLOCK (unless `wait`)
 * and O_TRUNC for `force`.
 *
 * listModules() reads /proc/modules and /sys/module (lsmod's sources).
 * Every file-system path takes a `root` prefix, so tests use a fake tree.
 */
import { closeSync, existsSync, opendirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { endianness } from 'node:os';
import { readAll } from '../bytes/source.js';
import type { CheckResult } from '../check/run.js';
import { isBlocking, type Finding } from '../check/findings.js';
import type { TargetKernel } from '../check/target.js';
import type { Compression } from '../compress/detect.js';
import { KmodkitError, isKmodkitError } from '../errors.js';
import type { ErrnoName } from '../errno.js';
import { strerror } from '../errno.js';
import { modulesDirPath, openModulesDir } from '../io/modules-dir.js';
import { fileChange, openRegularFile, readExactly, type FileIdentity } from '../io/open.js';
import { findBuildId, readNotes } from '../elf/notes.js';
import { buildId as moduleBuildId } from '../module/layout.js';
import { modinfoValue } from '../module/modinfo.js';
import { modnameFromPath, modnameNormalize } from '../modindex/names.js';
import { resolveModuleFile } from '../modprobe/module-file.js';
import { moduleName } from '../module/layout.js';
import { moduleFromBytes, moduleInfo, type KernelModule } from '../module/module.js';
import { decodeParams, type KernelParam } from '../module/params.js';
import { loadError, removePrecheckError, type KmodTool } from './errors.js';
import { buildParamsString, encodeParams, type ParamsInput } from './params-string.js';
import { preflight, runningTarget } from './preflight.js';
import { stripForForce } from './strip.js';
import {
  MODULE_INIT_COMPRESSED_FILE,
  MODULE_INIT_IGNORE_MODVERSIONS,
  MODULE_INIT_IGNORE_VERMAGIC,
  O_NONBLOCK,
  O_TRUNC,
  loadSyscalls,
  type ModuleSyscalls,
} from './syscalls.js';

export type ForceOption = boolean | { readonly modversions?: boolean; readonly vermagic?: boolean };

export interface LoadOptions {
  /** Module parameters: an object, `name=value` words, or a ready string. */
  params?: ParamsInput;
  /**
   * Pre-flight check against the running kernel: true (default) refuses a
   * module with blocking findings ('EREJECTED'); 'warn' runs it and only
   * records the findings on the handle/error; false skips it.
   */
  check?: boolean | 'warn';
  /**
   * Force: true = both; or pick. Sets MODULE_INIT_IGNORE_MODVERSIONS /
   * _VERMAGIC (finit) or strips the image (init_module), and lets a module
   * the pre-flight check refuses through to the kernel.
   */
  force?: ForceOption;
  /** Syscall backend (default: the koffi one). Tests pass a fake. */
  syscalls?: ModuleSyscalls;
  /** /lib/modules/<release> for name lookups (default: <root>/lib/modules/$(uname -r)). */
  modulesDir?: string;
  /** Check target (default: the running kernel, read once per process). */
  target?: TargetKernel;
  /** Prefix for /proc, /sys and /lib/modules (tests). */
  root?: string;
  /** Whose error wording (default insmod). */
  tool?: KmodTool;
  /** Parameter names the module does not have: refuse (default) or let the kernel ignore them. */
  unknownParams?: 'error' | 'ignore';
  /** Already-loaded modules whose exports the check may count (ModuleSet passes its members). */
  companions?: readonly KernelModule[];
  /** Largest module file accepted (stored bytes; default DEFAULT_MAX_FILE_SIZE, 256 MiB). */
  maxFileSize?: number;
}

/**
 * What identifies the module this handle loaded, as the kernel shows it
 * after loading: the image's srcversion (/sys/module/NAME/srcversion) and
 * GNU build-id (/sys/module/NAME/notes/.note.gnu.build-id), when the image
 * has them.
 */
export interface LoadedIdentity {
  readonly srcversion?: string;
  readonly buildId?: string;
}

export interface LoadedModule {
  /** Kernel name of the module. */
  readonly name: string;
  /** File that was loaded. */
  readonly path: string;
  readonly loadedBy: 'finit' | 'init';
  /** finit_module flags used (0 on the init path). */
  readonly flags: number;
  /** The parameter string given to the kernel. */
  readonly params: string;
  /** Pre-flight result, when the check ran. */
  readonly check?: CheckResult;
  /** Whether the image was stripped (forced init_module path). */
  readonly stripped: boolean;
  /** srcversion / build-id of the checked image (what unload() compares with the kernel's). */
  readonly identity: LoadedIdentity;
  /**
   * delete_module() this module (same options as unloadModule). Refuses
   * ('ECHANGED') when the module now loaded under this name is not the one
   * this handle loaded (its srcversion or build-id differs).
   */
  unload(opts?: UnloadOptions): Promise<void>;
}

/** How a module will be handed to the kernel. */
export type LoadRoute =
  | { readonly call: 'finit'; readonly flags: number; readonly fallbackStrip: { modversions: boolean; vermagic: boolean } }
  | { readonly call: 'init'; readonly strip: { modversions: boolean; vermagic: boolean } };

export function forceFlags(force: ForceOption | undefined): { modversions: boolean; vermagic: boolean } {
  if (force === true) return { modversions: true, vermagic: true };
  if (!force) return { modversions: false, vermagic: false };
  return { modversions: !!force.modversions, vermagic: !!force.vermagic };
}

/**
 * kmod's choice (do_finit_module): finit_module for an uncompressed file or
 * one in the kernel's own compression format; otherwise init_module with a
 * userspace-decompressed image.
 */
export function chooseRoute(format: Compression, kernelCompression: Compression, force: ForceOption | undefined): LoadRoute {
  const f = forceFlags(force);
  if (format === 'none' || format === kernelCompression) {
    let flags = 0;
    if (f.modversions) flags |= MODULE_INIT_IGNORE_MODVERSIONS;
    if (f.vermagic) flags |= MODULE_INIT_IGNORE_VERMAGIC;
    if (format !== 'none') flags |= MODULE_INIT_COMPRESSED_FILE;
    return { call: 'finit', flags, fallbackStrip: f };
  }
  return { call: 'init', strip: f };
}

/** The format in <root>/sys/module/compression ('none' when absent: no in-kernel decompression). */
export function kernelCompression(root = ''): Compression {
  let text: string;
  try {
    text = readFileSync(`${root}/sys/module/compression`, 'latin1').trim();
  } catch {
    return 'none';
  }
  return text === 'gzip' || text === 'xz' || text === 'zstd' ? text : 'none';
}

/** A module file opened once for loading: the checked bytes and the descriptor they came from. */
export interface ModuleForLoad {
  readonly bytes: Uint8Array;
  readonly mod: KernelModule;
  /** The descriptor the bytes were read from (finit_module gets this one). Caller closes it. */
  readonly fd: number;
  /** dev/inode/size/mtime when the bytes were read. */
  readonly identity: FileIdentity;
}

/**
 * Open a module file once (non-blocking, regular files only, size-capped),
 * read and decode its bytes from that descriptor, and keep the descriptor
 * open for finit_module: what is checked is what the kernel gets.
 */
export async function openModuleForLoad(path: string, opts: { maxFileSize?: number } = {}): Promise<ModuleForLoad> {
  let f;
  try {
    f = openRegularFile(path, opts);
  } catch (e) {
    if (isKmodkitError(e)) throw new KmodkitError(e.code, `could not load module ${path}: ${e.message}`, { file: path, ...(e.errno ? { errno: e.errno } : {}), cause: e });
    throw e;
  }
  try {
    const bytes = readExactly(f.fd, 0, f.size, path);
    return { bytes, mod: await moduleFromBytes(bytes), fd: f.fd, identity: f.identity };
  } catch (e) {
    closeSync(f.fd);
    if (isKmodkitError(e) && e.file === undefined) e.file = path;
    throw e;
  }
}

/** Read and decode a module file the way the loader does (same checks), without keeping the descriptor. */
export async function readModuleForLoad(path: string, opts: { maxFileSize?: number } = {}): Promise<{ bytes: Uint8Array; mod: KernelModule }> {
  const o = await openModuleForLoad(path, opts);
  closeSync(o.fd);
  return { bytes: o.bytes, mod: o.mod };
}

/** 'ECHANGED' when the file behind fd is no longer what was read and checked. */
function assertUnchanged(fd: number, identity: FileIdentity, path: string, when: string): void {
  const what = fileChange(fd, identity);
  if (what) {
    throw new KmodkitError('ECHANGED', `could not load module ${path}: the file changed ${when} (${what} differs); nothing unchecked was loaded`, {
      file: path,
      errno: 'EAGAIN',
      detail: { changed: what },
    });
  }
}

/** srcversion and build-id of an image (what the kernel will show in /sys/module/NAME). */
export function imageIdentity(mod: KernelModule): LoadedIdentity {
  let srcversion: string | undefined;
  let buildId: string | undefined;
  try {
    srcversion = modinfoValue(moduleInfo(mod), 'srcversion');
  } catch {
    srcversion = undefined;
  }
  try {
    buildId = moduleBuildId(mod.elf);
  } catch {
    buildId = undefined;
  }
  return { ...(srcversion ? { srcversion } : {}), ...(buildId ? { buildId } : {}) };
}

/** What the running kernel shows for module `name` (fields it does not show are left out). */
export function kernelIdentity(name: string, root = ''): LoadedIdentity {
  const dir = `${root}/sys/module/${name}`;
  let srcversion: string | undefined;
  let buildId: string | undefined;
  try {
    srcversion = readFileSync(`${dir}/srcversion`, 'latin1').trim() || undefined;
  } catch {
    srcversion = undefined;
  }
  try {
    const id = findBuildId(readNotes(readFileSync(`${dir}/notes/.note.gnu.build-id`), endianness() === 'LE'));
    buildId = id ? Buffer.from(id).toString('hex') : undefined;
  } catch {
    buildId = undefined;
  }
  return { ...(srcversion ? { srcversion } : {}), ...(buildId ? { buildId } : {}) };
}

/** Why the module loaded as `name` is not `expected` (a field both sides show and that differs), or undefined. */
export function identityMismatch(expected: LoadedIdentity, actual: LoadedIdentity): string | undefined {
  if (expected.srcversion && actual.srcversion && expected.srcversion !== actual.srcversion) return `srcversion ${actual.srcversion}, loaded ${expected.srcversion}`;
  if (expected.buildId && actual.buildId && expected.buildId !== actual.buildId) return `build-id ${actual.buildId}, loaded ${expected.buildId}`;
  return undefined;
}

function decodedParams(mod: KernelModule): KernelParam[] | undefined {
  try {
    return decodeParams(mod).params;
  } catch {
    return undefined;
  }
}

function kernelName(mod: KernelModule, path: string): string {
  try {
    const n = moduleName(mod).name;
    if (n) return n;
  } catch {
    /* fall through */
  }
  return modnameFromPath(path);
}

/** Modules this process loaded and still believes loaded: name → module (their exports count in later checks). */
const loadedHere = new Map<string, KernelModule>();

function refusal(name: string, path: string, r: CheckResult): KmodkitError {
  const blocking = r.findings.filter(isBlocking);
  const first = blocking[0];
  const more = blocking.length > 1 ? ` (and ${blocking.length - 1} more)` : '';
  const hint = first?.hint ? `; ${first.hint}` : '';
  return new KmodkitError('EREJECTED', `refusing to load ${name}: ${first?.message ?? 'pre-flight check failed'}${hint}${more}`, {
    file: path,
    ...(first?.errno ? { errno: first.errno } : {}),
    detail: { module: name, findings: blocking, allFindings: r.findings, verdict: r.verdict },
  });
}

/**
 * Load a module file (or a module name from modules.dep) into the running
 * kernel. The file is opened once: the bytes the check reads come from that
 * descriptor, and finit_module gets the same descriptor (init_module gets the
 * checked buffer). If the file changed underneath (inode, size, mtime) between the read and the syscall, nothing is loaded ('ECHANGED');
 * if it changed while the kernel read it, the module is removed again and
 * 'ECHANGED' is raised.
 */
export async function loadModule(fileOrName: string, opts: LoadOptions = {}): Promise<LoadedModule> {
  const resolved = resolveModuleFile(fileOrName, opts);
  const opened = await openModuleForLoad(resolved.path, opts);
  try {
    return await loadOpened(opened, resolved.path, opts);
  } finally {
    closeSync(opened.fd);
  }
}

async function loadOpened(opened: ModuleForLoad, path: string, opts: LoadOptions): Promise<LoadedModule> {
  const root = opts.root ?? '';
  const { bytes, mod, fd } = opened;
  const name = kernelName(mod, path);
  const identity = imageIdentity(mod);

  // Parameters: checked against __param when it decodes.
  const decoded = decodedParams(mod);
  const params = buildParamsString(opts.params, {
    ...(decoded ? { params: decoded } : {}),
    module: name,
    unknown: opts.unknownParams ?? 'error',
    longBits: mod.elf.header.class === 32 ? 32 : 64,
  });

  // Pre-flight.
  let check: CheckResult | undefined;
  const forced = forceFlags(opts.force);
  const anyForce = forced.modversions || forced.vermagic;
  if (opts.check !== false) {
    const target = opts.target ?? (await runningTarget({ root, ...(opts.modulesDir ? { modulesDir: opts.modulesDir } : {}) }));
    const words = opts.params === undefined ? [] : encodeParams(opts.params).args.map((a) => (a.value === null ? a.name : `${a.name}=${a.value}`));
    const companions = [...(opts.companions ?? []), ...[...loadedHere.values()].filter((m) => m !== mod)];
    check = await preflight(mod, target, { root, params: words, path, companions });
    if (check.verdict === 'fails' && opts.check !== 'warn' && !anyForce) throw refusal(name, path, check);
  }

  const sys = opts.syscalls ?? (await loadSyscalls());
  let route = chooseRoute(mod.compression.format, kernelCompression(root), opts.force);
  // The kernel's gzip decoder reads the first member only; kmodkit checked all
  // of them. A multi-member file goes to init_module with the checked image.
  // Likewise xz: the kernel decodes one stream.
  const c = mod.compression;
  if (route.call === 'finit' && ((c.format === 'gzip' && (c.gzipMembers ?? 1) > 1) || (c.format === 'xz' && (c.xzStreams ?? 1) > 1))) {
    route = { call: 'init', strip: route.fallbackStrip };
  }
  const findings: readonly Finding[] | undefined = check?.findings;
  const fail = (e: unknown, call: 'finit_module' | 'init_module'): never => {
    if (isKmodkitError(e) && e.code === 'ESYSCALL') throw loadError(e, { op: 'insert', module: name, path, tool: opts.tool ?? 'insmod', call, ...(findings ? { findings } : {}) });
    throw e;
  };

  let loadedBy: 'finit' | 'init' = 'finit';
  let flags = 0;
  let stripped = false;
  let viaInit = route.call === 'init';
  if (route.call === 'finit') {
    flags = route.flags;
    assertUnchanged(fd, opened.identity, path, 'after it was checked');
    try {
      sys.finitModule(fd, params, flags);
    } catch (e) {
      if (isKmodkitError(e) && e.code === 'ESYSCALL' && e.errno === 'ENOSYS') viaInit = true;
      else fail(e, 'finit_module');
    }
    if (!viaInit) {
      try {
        assertUnchanged(fd, opened.identity, path, 'while the kernel read it');
      } catch (e) {
        try {
          sys.deleteModule(name, O_NONBLOCK);
        } catch {
          /* reported below as part of the change */
        }
        throw e;
      }
    }
  }
  if (viaInit) {
    loadedBy = 'init';
    flags = 0;
    const strip = route.call === 'init' ? route.strip : route.fallbackStrip;
    let image = mod.compression.format === 'none' ? bytes : readAll(mod.source);
    if (strip.modversions || strip.vermagic) {
      image = stripForForce(image, strip).image;
      stripped = true;
    }
    try {
      sys.initModule(image, params);
    } catch (e) {
      fail(e, 'init_module');
    }
  }
  loadedHere.set(name, mod);
  const unloadDefaults = { syscalls: sys, root, ...(opts.modulesDir ? { modulesDir: opts.modulesDir } : {}) };
  return {
    name,
    path,
    loadedBy,
    flags,
    params,
    ...(check ? { check } : {}),
    stripped,
    identity,
    unload: async (u: UnloadOptions = {}) => {
      const o = { ...unloadDefaults, ...u };
      const why = identityMismatch(identity, kernelIdentity(name, o.root));
      if (why) {
        throw new KmodkitError('ECHANGED', `refusing to remove ${name}: the module loaded under that name is not the one this handle loaded (${why})`, {
          errno: 'EBUSY',
          detail: { module: name, expected: identity, actual: kernelIdentity(name, o.root) },
        });
      }
      await unloadModule(name, o);
    },
  };
}

// ---------------------------------------------------------------------------
// Unloading
// ---------------------------------------------------------------------------

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
}

/** kmod's initstate: 'builtin' | 'live' | 'coming' | 'going' | 'absent'. */
export type InitState = 'builtin' | 'live' | 'coming' | 'going' | 'absent';

export function moduleInitState(name: string, opts: { root?: string; builtin?: ReadonlySet<string> } = {}): InitState {
  const root = opts.root ?? '';
  if (opts.builtin?.has(name)) return 'builtin';
  let text: string | undefined;
  try {
    text = readFileSync(`${root}/sys/module/${name}/initstate`, 'latin1').trim();
  } catch {
    text = undefined;
  }
  if (text === 'live' || text === 'coming' || text === 'going') return text;
  try {
    if (statSync(`${root}/sys/module/${name}`).isDirectory()) return text === undefined ? 'coming' : 'live';
  } catch {
    /* absent */
  }
  return 'absent';
}

/** Directory entries in readdir order (not sorted: kmod prints holders in this order). */
function rawReaddir(dir: string): string[] | undefined {
  try {
    const d = opendirSync(dir);
    const out: string[] = [];
    try {
      for (let e = d.readSync(); e; e = d.readSync()) out.push(e.name);
    } finally {
      d.closeSync();
    }
    return out;
  } catch {
    return undefined;
  }
}

function readInt(path: string): number | undefined {
  try {
    const n = Number.parseInt(readFileSync(path, 'latin1').trim(), 10);
    return Number.isNaN(n) ? undefined : n;
  } catch {
    return undefined;
  }
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
  let isFile = false;
  try {
    isFile = nameOrPath.includes('/') && statSync(nameOrPath).isFile();
  } catch {
    isFile = false;
  }
  const name = isFile ? modnameFromPath(nameOrPath) : modnameNormalize(nameOrPath);
  if (opts.check !== false && !opts.force) {
    const state = moduleInitState(name, { root, builtin: builtinSet(opts) });
    if (state === 'builtin') throw removePrecheckError('EPERM', name, `Module ${name} is builtin.`, { builtin: true });
    if (state === 'absent') throw removePrecheckError('ENOENT', name, `Module ${name} is not currently loaded`);
    const holders = rawReaddir(`${root}/sys/module/${name}/holders`);
    if (holders && holders.length) throw removePrecheckError('EWOULDBLOCK', name, `Module ${name} is in use by: ${holders.join(' ')}`, { holders });
    const refcnt = readInt(`${root}/sys/module/${name}/refcnt`);
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
  loadedHere.delete(name);
}

/** Is a module loaded (listed in /proc/modules)? */
export function isLoaded(name: string, root = ''): boolean {
  const n = modnameNormalize(name);
  try {
    return readFileSync(`${root}/proc/modules`, 'latin1')
      .split('\n')
      .some((l) => l.startsWith(`${n} `));
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// Listing
// ---------------------------------------------------------------------------

export interface ModuleStatus {
  readonly name: string;
  /** /sys/module/X/coresize, else /proc/modules' size. */
  readonly size: number;
  /** /sys/module/X/refcnt, else /proc/modules' count. */
  readonly refcount: number;
  /** /proc/modules' dependents column (the modules using this one). */
  readonly usedBy: readonly string[];
  /** /sys/module/X/holders, readdir order (what lsmod prints); undefined when unreadable. */
  readonly holders?: readonly string[];
  /** /proc/modules state: 'Live' | 'Loading' | 'Unloading'. */
  readonly state: string;
  /** /sys/module/X/initstate. */
  readonly initstate?: string;
  readonly address?: string;
  /** Taint letters of the module (/sys/module/X/taint, else /proc/modules' (OE) column). */
  readonly taint: string;
  /** /sys/module/X/parameters/*: readable ones; unreadable ones are left out. */
  readonly parameters: Readonly<Record<string, string>>;
  /** The /proc/modules line's fields, for callers wanting raw values. */
  readonly procSize: number;
  readonly procRefcount: number | null;
}

/** Parse /proc/modules text: `name size refcnt deps state addr [(taint)]`. */
export function parseProcModules(text: string): { name: string; size: number; refcount: number | null; usedBy: string[]; state: string; address?: string; taint: string }[] {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const f = line.trim().split(/\s+/);
    const [name, size, ref, deps, state, address, taint] = f;
    out.push({
      name,
      size: Number.parseInt(size ?? '0', 10) || 0,
      refcount: ref === '-' || ref === undefined ? null : Number.parseInt(ref, 10),
      usedBy: !deps || deps === '-' ? [] : deps.split(',').filter(Boolean),
      state: state ?? '',
      ...(address !== undefined ? { address } : {}),
      taint: taint ? taint.replace(/[()]/g, '') : '',
    });
  }
  return out;
}

function readTrim(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1').replace(/\n$/, '');
  } catch {
    return undefined;
  }
}

/** The loaded modules, /proc/modules order, with sysfs details. */
export function listModules(opts: { root?: string } = {}): ModuleStatus[] {
  const root = opts.root ?? '';
  let text: string;
  try {
    text = readFileSync(`${root}/proc/modules`, 'latin1');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new KmodkitError(err.code === 'ENOENT' ? 'ENOENT' : 'EIO', `could not open ${root}/proc/modules: ${err.code ? strerror(err.code) : err.message}`, { errno: err.code as ErrnoName | undefined, file: `${root}/proc/modules`, cause: e });
  }
  return parseProcModules(text).map((p) => {
    const sys = `${root}/sys/module/${p.name}`;
    const coresize = readInt(`${sys}/coresize`);
    const refcnt = readInt(`${sys}/refcnt`);
    const holders = rawReaddir(`${sys}/holders`);
    const initstate = readTrim(`${sys}/initstate`);
    const taint = readTrim(`${sys}/taint`);
    const parameters: Record<string, string> = {};
    let names: string[] = [];
    try {
      names = readdirSync(`${sys}/parameters`);
    } catch {
      names = [];
    }
    for (const n of names) {
      const v = readTrim(`${sys}/parameters/${n}`);
      if (v !== undefined) parameters[n] = v;
    }
    return {
      name: p.name,
      size: coresize ?? p.size,
      refcount: refcnt ?? p.refcount ?? 0,
      usedBy: p.usedBy,
      ...(holders ? { holders } : {}),
      state: p.state,
      ...(initstate !== undefined ? { initstate } : {}),
      ...(p.address !== undefined ? { address: p.address } : {}),
      taint: taint ?? p.taint,
      parameters,
      procSize: p.size,
      procRefcount: p.refcount,
    };
  });
}

/**
 * kmod's lsmod output: header, then `%-19s %8ld  %d` and the holders
 * (' ' before the first, ',' between). Size = coresize (else /proc size),
 * count = refcnt; a module without a sysfs directory prints -2 for both, as kmod does.
 */
export function formatLsmod(mods: readonly ModuleStatus[], opts: { root?: string } = {}): { stdout: string; stderr: string } {
  const root = opts.root ?? '';
  let out = 'Module                  Size  Used by\n';
  let err = '';
  for (const m of mods) {
    const sysExists = existsSync(`${root}/sys/module/${m.name}`);
    const size = sysExists ? m.size : -2;
    const ref = sysExists ? m.refcount : -2;
    out += `${m.name.padEnd(19)} ${String(size).padStart(8)}  ${ref}`;
    if (m.holders) {
      m.holders.forEach((h, i) => {
        out += `${i === 0 ? ' ' : ','}${h}`;
      });
    } else {
      err += `lsmod: ERROR: could not open '${root}/sys/module/${m.name}/holders': No such file or directory\n`;
    }
    out += '\n';
  }
  return { stdout: out, stderr: err };
}
