/**
 * Loading a kernel module from Node, without insmod/modprobe:
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
 * What the running system shows comes from lib/io (sysfs.ts, open.ts); this
 * file only decides and makes the syscalls. Calls share nothing unless the
 * caller passes the same LoadContext (context.ts).
 */
import { readAll } from '../bytes/source.js';
import type { CheckResult } from '../check/run.js';
import { isBlocking, type Finding } from '../check/findings.js';
import type { TargetKernel } from '../check/target.js';
import type { Compression } from '../compress/detect.js';
import { KmodkitError, isKmodkitError } from '../errors.js';
import { assertUnchanged, openModuleForLoad, type ModuleForLoad } from '../io/open.js';
import { identityMismatch, kernelCompression, kernelModuleIdentity, type ModuleIdentity } from '../io/sysfs.js';
import { buildId as moduleBuildId } from '../module/layout.js';
import { modinfoValue } from '../module/modinfo.js';
import { resolveModuleFile } from '../io/module-file.js';
import { moduleInfo, type KernelModule } from '../module/module.js';
import { decodeParams, type KernelParam } from '../module/params.js';
import { kernelName, type LoadContext } from './context.js';
import { loadError, type KmodTool } from './errors.js';
import { buildParamsString, encodeParams, type ParamsInput } from './params-string.js';
import { preflight, runningTarget } from './preflight.js';
import { stripForForce } from './strip.js';
import {
  MODULE_INIT_COMPRESSED_FILE,
  MODULE_INIT_IGNORE_MODVERSIONS,
  MODULE_INIT_IGNORE_VERMAGIC,
  O_NONBLOCK,
  loadSyscalls,
  type ModuleSyscalls,
} from './syscalls.js';
import { unloadModule, type UnloadOptions } from './unload.js';

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
  /** Check target (default: the running kernel, read once per context; without a context, per call). */
  target?: TargetKernel;
  /**
   * What this load shares with others (LoadContext): the modules loaded
   * through it count in this check, and this module counts in later ones.
   * Without it the call shares nothing.
   */
  context?: LoadContext;
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
  /** srcversion / build-id of the checked image. */
  readonly identity: ModuleIdentity;
  /**
   * The kernel's identity of the instance right after the load (srcversion,
   * build-id, size, load address; null when the kernel showed nothing):
   * what unload() compares with the kernel's before removing it.
   */
  readonly instance: ModuleIdentity | null;
  /**
   * delete_module() this module (same options as unloadModule). Refuses
   * ('ECHANGED') when the module now loaded under this name is not the
   * instance this handle loaded (its srcversion, build-id, size or address differs).
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

/** srcversion and build-id of an image (what the kernel will show in /sys/module/NAME). */
export function imageIdentity(mod: KernelModule): ModuleIdentity {
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

function decodedParams(mod: KernelModule): KernelParam[] | undefined {
  try {
    return decodeParams(mod).params;
  } catch {
    return undefined;
  }
}

function refusal(name: string, path: string, r: CheckResult): KmodkitError {
  const blocking = r.findings.filter(isBlocking);
  const first = blocking[0];
  const more = blocking.length > 1 ? ` (and ${blocking.length - 1} more)` : '';
  const hint = first?.hint ? `; ${first.hint}` : '';
  return new KmodkitError('EREJECTED', `refusing to load ${name}: ${first?.message ?? 'pre-flight check failed'}${hint}${more}`, {
    file: path,
    ...(first?.errno ? { errno: first.errno } : {}),
    detail: { module: name, findings: blocking, allFindings: r.findings, verdict: 'fails' },
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
    opened.close();
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
    const target = opts.target ?? (await runningTarget({ root, ...(opts.modulesDir ? { modulesDir: opts.modulesDir } : {}), ...(opts.context ? { context: opts.context } : {}) }));
    const words = opts.params === undefined ? [] : encodeParams(opts.params).args.map((a) => (a.value === null ? a.name : `${a.name}=${a.value}`));
    const companions = [...(opts.companions ?? []), ...[...(opts.context?.loaded.values() ?? [])].flatMap((e) => (e.module && e.module !== mod ? [e.module] : []))];
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
    assertUnchanged(opened, path, 'after it was checked');
    try {
      sys.finitModule(fd, params, flags);
    } catch (e) {
      if (isKmodkitError(e) && e.code === 'ESYSCALL' && e.errno === 'ENOSYS') viaInit = true;
      else fail(e, 'finit_module');
    }
    if (!viaInit) {
      try {
        assertUnchanged(opened, path, 'while the kernel read it');
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
  const instance = kernelModuleIdentity(name, root);
  opts.context?.loaded.set(name, { name, path, origin: 'loaded', module: mod, image: identity, instance, loadedBy, params, since: Date.now() });
  const unloadDefaults = { syscalls: sys, root, ...(opts.modulesDir ? { modulesDir: opts.modulesDir } : {}), ...(opts.context ? { context: opts.context } : {}) };
  return {
    name,
    path,
    loadedBy,
    flags,
    params,
    ...(check ? { check } : {}),
    stripped,
    identity,
    instance,
    unload: async (u: UnloadOptions = {}) => {
      const o = { ...unloadDefaults, ...u };
      const actual = kernelModuleIdentity(name, o.root) ?? {};
      // the image's srcversion/build-id and the instance's size/address: any of them differing means another module
      const expected = { ...(instance ?? {}), ...identity };
      const why = identityMismatch(expected, actual);
      if (why) {
        throw new KmodkitError('ECHANGED', `refusing to remove ${name}: the module loaded under that name is not the one this handle loaded (${why})`, {
          errno: 'EBUSY',
          detail: { module: name, expected, actual },
        });
      }
      await unloadModule(name, o);
    },
  };
}

