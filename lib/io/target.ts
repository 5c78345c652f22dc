/**
 * Reading a target kernel description from the file system: the running
 * system (/proc, /sys, /boot, /lib/modules/<release>) or offline files
 * (a .config, a Module.symvers, a modules tree, certificates).
 *
 * Every piece is optional. What cannot be found is recorded in `missing`
 * with the reason, so each check can report itself skipped rather than
 * passed. Files that exist but are malformed raise KmodkitError 'ETARGET'
 * (with `file`); bad option values raise 'EINPUT'. Every file is read with
 * its size cap (lib/io/read-input.ts, 'ETOOBIG'), and a path under `root`
 * is resolved inside it (a symbolic link out of the root reads nothing).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { release as osRelease } from 'node:os';
import { type Compression } from '../compress/detect.js';
import { KmodkitError } from '../errors.js';
import { INPUT_LIMITS, type InputLimit } from '../input-limits.js';
import type { ErrnoName } from '../errno.js';
import { section } from '../elf/file.js';
import { MODULE_FILE_RE, modnameFromPath, modnameNormalize } from '../modindex/names.js';
import { moduleExports } from '../module/exports.js';
import { moduleInfo } from '../module/module.js';
import { modinfoValue } from '../module/modinfo.js';
import { archFromConfig, hostArch, parseArch, type TargetArch } from '../check/arch.js';
import { kconfigEnabled, kconfigMentions, parseKconfig, type Kconfig } from '../check/kconfig.js';
import { verifyModuleSignature, type CertificateInput } from '../check/signature-verify.js';
import { parseSymvers, type Symvers } from '../check/symvers.js';
import {
  configDecompression,
  type Lockdown, type ReferenceModule, type TargetExport, type TargetKernel, type TargetModules,
} from '../check/target.js';
import { openModule } from './open.js';
import { openModulesDir } from './modules-dir.js';
import { loadTrustedKeys } from './trusted-keys.js';
import type { TrustedKeySet } from '../check/trust.js';
import { resolveInRoot } from './in-root.js';
import { pathInRoot, readInput, readInputMaybeCompressed, readOptionalInputText, type ReadInputOptions } from './read-input.js';

export interface TargetOptions {
  /** Fill every piece not given from the running system (default when no offline input is given). */
  running?: boolean;
  kernelRelease?: string;
  configPath?: string;
  symversPath?: string;
  /** A /lib/modules/<release> directory. */
  modulesDir?: string;
  /** uname -m / Node / Debian architecture name. */
  arch?: string;
  sigEnforce?: boolean;
  lockdown?: Lockdown;
  /** Certificate files the target trusts (PEM or DER; --trusted-cert). */
  certs?: string[];
  /** The target's kernel image, for its built-in keys (default: /boot/vmlinuz-RELEASE of the running system, or beside --modules-dir). */
  kernelImage?: string;
  /** The target's exact vermagic, when known. */
  vermagic?: string;
  /** Prefix for every system path (/proc, /sys, /boot, /lib/modules): tests use a fake root. */
  root?: string;
}

function targetError(file: string, e: unknown): KmodkitError {
  if (e instanceof KmodkitError) {
    if (e.file === undefined) e.file = file;
    return e.code === 'ETARGET' || e.code === 'ENOENT' || e.code === 'EIO' ? e : new KmodkitError('ETARGET', e.message, { file, cause: e });
  }
  const err = e as NodeJS.ErrnoException;
  return new KmodkitError(err.code === 'ENOENT' ? 'ENOENT' : 'EIO', err.message ?? String(e), { file, errno: err.code as ErrnoName | undefined, cause: e });
}

/**
 * A text file, decompressed when it is gzip/xz/zstd (detected by magic), at
 * most `limit` bytes stored and decompressed ('ETOOBIG').
 */
export async function readMaybeCompressedText(path: string, limit: InputLimit = INPUT_LIMITS.symvers, options: ReadInputOptions = {}): Promise<string> {
  let data: Uint8Array;
  try {
    data = await readInputMaybeCompressed(path, limit, options);
  } catch (e) {
    throw targetError(path, e);
  }
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
}

/** Read and parse a Module.symvers (plain, .gz, .xz or .zst). */
export async function readSymversFile(path: string, options: ReadInputOptions = {}): Promise<Symvers> {
  const text = await readMaybeCompressedText(path, INPUT_LIMITS.symvers, options);
  try {
    return parseSymvers(text);
  } catch (e) {
    throw targetError(path, e);
  }
}

/** Read and parse a kernel config (plain or compressed, e.g. /proc/config.gz). */
export async function readKconfigFile(path: string, options: ReadInputOptions = {}): Promise<Kconfig> {
  const text = await readMaybeCompressedText(path, INPUT_LIMITS.kconfig, options);
  try {
    return parseKconfig(text);
  } catch (e) {
    throw targetError(path, e);
  }
}

/** A small /proc or /sys value (capped), or undefined when it cannot be read. */
function readSmall(path: string, root = ''): string | undefined {
  try {
    return readOptionalInputText(path, INPUT_LIMITS.systemValue, { root });
  } catch {
    return undefined;
  }
}

/** The first of `paths` that is a regular file (a path under `root` resolved inside it). */
function firstExisting(paths: string[], root = ''): string | undefined {
  const confined = root.replace(/\/+$/, '') !== '';
  for (const p of paths) {
    try {
      if (statSync(confined && p.startsWith(`${root.replace(/\/+$/, '')}/`) ? resolveInRoot(root, pathInRoot(root, p)) : p).isFile()) return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** "[none] integrity confidentiality" → 'none'. */
export function parseLockdown(text: string): Lockdown | undefined {
  const m = /\[(none|integrity|confidentiality)\]/.exec(text);
  return m ? (m[1] as Lockdown) : undefined;
}

// ---------------------------------------------------------------------------
// The modules tree
// ---------------------------------------------------------------------------

function walkModules(dir: string, out: Map<string, string>, depth = 0): void {
  if (depth > 12) return;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    // Symbolic links are not followed: /lib/modules/<r>/build points at a headers tree.
    if (e.isDirectory()) walkModules(`${dir}/${e.name}`, out, depth + 1);
    else if (e.isFile() && MODULE_FILE_RE.test(e.name)) {
      const name = modnameFromPath(e.name);
      if (!out.has(name)) out.set(name, `${dir}/${e.name}`);
    }
  }
}

/**
 * The modules tree of a release, or null (with the reason) when the
 * directory has no modules at all (e.g. only the `build` link of a headers package).
 */
export function openTargetModules(dir: string, root = ''): { modules: TargetModules | null; reason?: string } {
  if (!existsSync(dir)) return { modules: null, reason: `${dir} does not exist` };
  const md = openModulesDir(dir, undefined, { root });
  const files = new Map<string, string>();
  const dep = md.dep();
  for (const [name, e] of dep) files.set(name, e.path.startsWith('/') ? e.path : `${dir}/${e.path}`);
  if (files.size === 0) walkModules(dir, files);
  const builtin = md.builtin();
  if (files.size === 0 && builtin.size === 0) return { modules: null, reason: `no modules found in ${dir}` };

  const exportCache = new Map<string, TargetExport[] | null>();
  async function exportsOfModule(name: string): Promise<TargetExport[]> {
    if (exportCache.has(name)) return exportCache.get(name) ?? [];
    const path = files.get(name);
    let list: TargetExport[] | null = null;
    if (path) {
      try {
        const opened = await openModule(path);
        try {
          list = moduleExports(opened.module.elf).map((x) => ({
            name: x.name,
            ...(x.crc !== undefined ? { crc: x.crc } : {}),
            gplOnly: x.gplOnly,
            ...(x.namespace ? { namespace: x.namespace } : {}),
            owner: name,
            source: 'module' as const,
          }));
        } finally {
          opened.close();
        }
      } catch {
        list = null; // an unreadable module exports nothing we can vouch for
      }
    }
    exportCache.set(name, list);
    return list ?? [];
  }

  let symbolIndex: Map<string, string[]> | undefined;
  let fullScan: Promise<void> | undefined;
  async function index(): Promise<Map<string, string[]>> {
    if (symbolIndex) return symbolIndex;
    const idx = new Map<string, string[]>();
    const lines = md.symbols();
    if (lines.length > 0) {
      for (const l of lines) {
        if (!l.pattern.startsWith('symbol:')) continue;
        const sym = l.pattern.slice(7);
        const arr = idx.get(sym) ?? [];
        arr.push(modnameNormalize(l.module));
        idx.set(sym, arr);
      }
      symbolIndex = idx;
      return idx;
    }
    // No modules.symbols (depmod never ran): decode every module once.
    fullScan ??= (async () => {
      for (const name of [...files.keys()].sort()) {
        for (const x of await exportsOfModule(name)) {
          const arr = idx.get(x.name) ?? [];
          arr.push(name);
          idx.set(x.name, arr);
        }
      }
      symbolIndex = idx;
    })();
    await fullScan;
    return idx;
  }

  let reference: Promise<ReferenceModule | null> | undefined;
  async function findReference(): Promise<ReferenceModule | null> {
    const names = [...files.keys()].sort();
    for (const name of names.slice(0, 8)) {
      const path = files.get(name)!;
      try {
        const opened = await openModule(path);
        try {
          const mod = opened.module;
          const sec = section(mod.elf, '.gnu.linkonce.this_module');
          let vermagic: string | undefined;
          try {
            vermagic = modinfoValue(moduleInfo(mod), 'vermagic');
          } catch {
            vermagic = undefined;
          }
          if (!sec && vermagic === undefined) continue;
          return { path, ...(vermagic !== undefined ? { vermagic } : {}), ...(sec ? { thisModuleSize: sec.size } : {}) };
        } finally {
          opened.close();
        }
      } catch {
        /* try the next one */
      }
    }
    return null;
  }

  const modules: TargetModules = {
    dir,
    has: (name) => {
      const n = modnameNormalize(name);
      return files.has(n) || builtin.has(n);
    },
    isBuiltin: (name) => builtin.has(modnameNormalize(name)),
    async exportsOf(symbol) {
      const owners = (await index()).get(symbol) ?? [];
      const out: TargetExport[] = [];
      for (const o of owners) {
        const found = (await exportsOfModule(o)).find((x) => x.name === symbol);
        out.push(found ?? { name: symbol, owner: o, source: 'modules.symbols' });
      }
      return out;
    },
    reference: () => (reference ??= findReference()),
  };
  return { modules };
}

// ---------------------------------------------------------------------------
// Building the target
// ---------------------------------------------------------------------------

async function readCerts(paths: readonly string[]): Promise<CertificateInput[]> {
  const out: CertificateInput[] = [];
  for (const p of paths) {
    let data: Uint8Array;
    try {
      data = readInput(p, INPUT_LIMITS.keyOrCertificate);
    } catch (e) {
      throw targetError(p, e);
    }
    try {
      verifyModuleSignature(new Uint8Array(0), [data]); // validates the certificate(s)
    } catch (e) {
      if (e instanceof KmodkitError) throw new KmodkitError('ETARGET', `certificate: ${e.message}`, { file: p, cause: e });
      throw e;
    }
    out.push(data);
  }
  return out;
}

/** Whether any offline input is given (then the running system is not consulted unless asked). */
export function hasOfflineInput(o: TargetOptions): boolean {
  return o.kernelRelease !== undefined || o.configPath !== undefined || o.symversPath !== undefined || o.modulesDir !== undefined;
}

/** What every discovery step reads and writes: where to look, and the report of what was found. */
interface Discovery {
  readonly options: TargetOptions;
  readonly running: boolean;
  readonly root: string;
  readonly sources: Record<string, string>;
  readonly missing: Record<string, string>;
}

/** The kernel release: given, the running kernel's, or the modules directory's name. */
function discoverRelease(d: Discovery): string | undefined {
  const { options, running, root, sources, missing } = d;
  if (options.kernelRelease !== undefined) {
    sources.release = 'option';
    return options.kernelRelease;
  }
  if (running) {
    sources.release = 'running kernel (uname -r)';
    return readSmall(`${root}/proc/sys/kernel/osrelease`, root)?.trim() || osRelease();
  }
  if (options.modulesDir) {
    sources.release = `name of ${options.modulesDir}`;
    return options.modulesDir.replace(/\/+$/, '').split('/').pop();
  }
  missing.release = 'no kernel release given (--kernel-release)';
  return undefined;
}

/** The modules tree: given, or the running kernel's /lib/modules/RELEASE. */
function discoverModules(d: Discovery, release: string | undefined): { modulesDir?: string; modules?: TargetModules } {
  let modulesDir = d.options.modulesDir;
  if (modulesDir === undefined && d.running && release) modulesDir = `${d.root}/lib/modules/${release}`;
  if (modulesDir === undefined) {
    d.missing.modules = 'no modules directory given (--modules-dir)';
    return {};
  }
  const r = openTargetModules(modulesDir.replace(/\/+$/, ''), d.root);
  if (!r.modules) {
    d.missing.modules = r.reason!;
    return { modulesDir };
  }
  d.sources.modules = modulesDir;
  return { modulesDir, modules: r.modules };
}

/** The kernel's .config: given, or the first of the places kmod and distributions keep it. */
async function discoverConfig(d: Discovery, release: string | undefined, modulesDir: string | undefined): Promise<{ config?: Kconfig; configPath?: string }> {
  const { running, root } = d;
  let configPath = d.options.configPath;
  if (configPath === undefined) {
    const candidates: string[] = [];
    if (running) candidates.push(`${root}/proc/config.gz`, ...(release ? [`${root}/boot/config-${release}`] : []));
    if (modulesDir) candidates.push(`${modulesDir}/build/.config`, `${modulesDir}/config`);
    if (running && release) candidates.push(`${root}/lib/modules/${release}/build/.config`);
    configPath = firstExisting(candidates, root);
    if (!configPath) d.missing.config = candidates.length ? `no kernel config found (looked at ${candidates.join(', ')})` : 'no kernel config given (--config)';
  }
  if (!configPath) return {};
  const config = await readKconfigFile(configPath, { root });
  d.sources.config = configPath;
  return { config, configPath };
}

/** Module.symvers: given, beside the modules tree, or where distributions install it. */
async function discoverSymvers(d: Discovery, release: string | undefined, modulesDir: string | undefined): Promise<Symvers | undefined> {
  const { running, root } = d;
  let symversPath = d.options.symversPath;
  if (symversPath === undefined) {
    const candidates: string[] = [];
    if (modulesDir) candidates.push(`${modulesDir}/build/Module.symvers`, `${modulesDir}/symvers.gz`, `${modulesDir}/symvers.xz`, `${modulesDir}/symvers.zst`);
    if (running && release) {
      candidates.push(`${root}/boot/symvers-${release}.gz`, `${root}/boot/symvers-${release}.xz`, `${root}/boot/symvers-${release}.zst`, `${root}/boot/symvers-${release}`);
      candidates.push(`${root}/usr/src/kernels/${release}/Module.symvers`, `${root}/usr/src/linux-headers-${release}/Module.symvers`);
    }
    symversPath = firstExisting(candidates, root);
    if (!symversPath) d.missing.symvers = candidates.length ? `no Module.symvers found (looked at ${candidates.join(', ')})` : 'no Module.symvers given (--symvers)';
  }
  if (!symversPath) return undefined;
  const symvers = await readSymversFile(symversPath, { root });
  d.sources.symvers = symversPath;
  return symvers;
}

/** The architecture: given, from the .config (archFromConfig, the one rule), or the host's. */
function discoverArch(d: Discovery, config: Kconfig | undefined): TargetArch | undefined {
  if (d.options.arch !== undefined) {
    d.sources.arch = 'option';
    return parseArch(d.options.arch);
  }
  const fromConfig = config ? archFromConfig(config) : undefined;
  if (fromConfig) {
    d.sources.arch = 'kernel config';
    return fromConfig;
  }
  if (d.running) {
    d.sources.arch = 'running system';
    return hostArch();
  }
  d.missing.arch = 'architecture unknown (--arch, or a .config)';
  return undefined;
}

interface Policy {
  loadedModules?: Set<string>;
  sigEnforce?: boolean;
  moduleSig?: boolean;
  lockdown?: Lockdown;
  inKernelDecompression?: Compression[];
  moduleSupport?: boolean;
}

/**
 * What the kernel will enforce: loaded modules, signature policy, lockdown,
 * in-kernel decompression and module support; from the options, then the
 * running system, then the .config.
 */
function discoverPolicy(d: Discovery, config: Kconfig | undefined, configPath: string | undefined): Policy {
  const { options, running, root, sources, missing } = d;
  let loadedModules: Set<string> | undefined;
  let sigEnforce = options.sigEnforce;
  let moduleSig: boolean | undefined;
  let lockdown = options.lockdown;
  let inKernelDecompression: Compression[] | undefined;
  if (sigEnforce !== undefined) sources.sigEnforce = 'option';
  if (lockdown !== undefined) sources.lockdown = 'option';
  if (running) {
    try {
      loadedModules = new Set(readdirSync(`${root}/sys/module`));
      sources.loadedModules = `${root}/sys/module`;
    } catch {
      missing.loadedModules = `${root}/sys/module is not readable`;
    }
    const se = readSmall(`${root}/sys/module/module/parameters/sig_enforce`, root);
    if (se !== undefined) {
      moduleSig = true;
      if (sigEnforce === undefined) {
        sigEnforce = se.trim() === 'Y' || se.trim() === '1';
        sources.sigEnforce = `${root}/sys/module/module/parameters/sig_enforce`;
      }
    }
    if (lockdown === undefined) {
      const ld = readSmall(`${root}/sys/kernel/security/lockdown`, root);
      if (ld !== undefined) {
        lockdown = parseLockdown(ld);
        sources.lockdown = `${root}/sys/kernel/security/lockdown`;
      }
    }
    const comp = readSmall(`${root}/sys/module/compression`, root);
    if (comp !== undefined) {
      const f = comp.trim();
      if (f === 'gzip' || f === 'xz' || f === 'zstd') inKernelDecompression = [f];
      sources.inKernelDecompression = `${root}/sys/module/compression`;
    } else if (loadedModules) {
      inKernelDecompression = [];
      sources.inKernelDecompression = `no ${root}/sys/module/compression`;
    }
  }
  if (config) {
    if (moduleSig === undefined) moduleSig = kconfigEnabled(config, 'MODULE_SIG');
    if (sigEnforce === undefined && kconfigMentions(config, 'MODULE_SIG_FORCE')) {
      sigEnforce = kconfigEnabled(config, 'MODULE_SIG_FORCE');
      sources.sigEnforce = `${configPath} (CONFIG_MODULE_SIG_FORCE; module.sig_enforce=1 on the command line is not visible offline)`;
    } else if (sigEnforce === undefined && !moduleSig) {
      sigEnforce = false;
      sources.sigEnforce = `${configPath} (no CONFIG_MODULE_SIG)`;
    }
    if (inKernelDecompression === undefined) {
      inKernelDecompression = configDecompression(config);
      sources.inKernelDecompression = `${configPath}`;
    }
  }
  // CONFIG_MODULES: the running kernel shows /proc/modules exactly when it has it
  let moduleSupport: boolean | undefined;
  if (running) {
    moduleSupport = existsSync(`${root}/proc/modules`);
    sources.moduleSupport = moduleSupport ? `${root}/proc/modules` : `no ${root}/proc/modules`;
  } else if (config && kconfigMentions(config, 'MODULES')) {
    moduleSupport = kconfigEnabled(config, 'MODULES');
    sources.moduleSupport = `${configPath} (CONFIG_MODULES)`;
  } else missing.moduleSupport = 'module support unknown (no .config, not the running system)';
  if (sigEnforce === undefined) missing.sigEnforce = 'signature enforcement unknown (--sig-enforce, or a .config / running system)';
  if (lockdown === undefined) missing.lockdown = running ? 'no /sys/kernel/security/lockdown' : 'lockdown state unknown offline';
  if (inKernelDecompression === undefined) missing.inKernelDecompression = 'in-kernel decompression support unknown (no .config, no /sys/module/compression)';
  return {
    ...(loadedModules ? { loadedModules } : {}),
    ...(sigEnforce !== undefined ? { sigEnforce } : {}),
    ...(moduleSig !== undefined ? { moduleSig } : {}),
    ...(lockdown !== undefined ? { lockdown } : {}),
    ...(inKernelDecompression !== undefined ? { inKernelDecompression } : {}),
    ...(moduleSupport !== undefined ? { moduleSupport } : {}),
  };
}

/**
 * Build the target description. With `running` (the default when no
 * offline input is given) unspecified pieces come from the running system;
 * otherwise only from the given files (and the modules tree's `build` link).
 * Each piece has its discovery step above; the order fixes the order of
 * `sources` and `missing` in reports.
 */
export async function loadTarget(options: TargetOptions = {}): Promise<TargetKernel> {
  const running = options.running ?? !hasOfflineInput(options);
  const d: Discovery = { options, running, root: options.root ?? '', sources: {}, missing: {} };
  const release = discoverRelease(d);
  const { modulesDir, modules } = discoverModules(d, release);
  const { config, configPath } = await discoverConfig(d, release, modulesDir);
  const symvers = await discoverSymvers(d, release, modulesDir);
  const arch = discoverArch(d, config);
  const p = discoverPolicy(d, config, configPath);

  const certs = options.certs?.length ? await readCerts(options.certs) : undefined;
  if (certs) d.sources.certs = options.certs!.join(', ');
  else d.missing.certs = 'no certificates given (--cert)';

  let trust: Promise<TrustedKeySet> | undefined;
  const trustedKeys = () => (trust ??= loadTrustedKeys({ running, root: d.root, ...(release !== undefined ? { release } : {}), ...(modulesDir !== undefined ? { modulesDir } : {}), ...(options.kernelImage !== undefined ? { kernelImage: options.kernelImage } : {}) }));

  let vermagic: TargetKernel['vermagic'];
  if (options.vermagic !== undefined) {
    vermagic = { value: options.vermagic, origin: 'option' };
  } else if (modules) {
    const ref = await modules.reference();
    if (ref?.vermagic !== undefined) vermagic = { value: ref.vermagic, origin: `vermagic of ${ref.path}` };
  }

  return {
    origin: running ? 'running' : 'offline',
    ...(release !== undefined ? { release } : {}),
    ...(arch ? { arch } : {}),
    ...(config ? { config } : {}),
    ...(symvers ? { symvers } : {}),
    ...(modules ? { modules } : {}),
    ...(p.moduleSupport !== undefined ? { moduleSupport: p.moduleSupport } : {}),
    ...(p.loadedModules ? { loadedModules: p.loadedModules } : {}),
    ...(p.sigEnforce !== undefined ? { sigEnforce: p.sigEnforce } : {}),
    ...(p.moduleSig !== undefined ? { moduleSig: p.moduleSig } : {}),
    ...(p.lockdown !== undefined ? { lockdown: p.lockdown } : {}),
    ...(p.inKernelDecompression !== undefined ? { inKernelDecompression: p.inKernelDecompression } : {}),
    ...(certs ? { certs } : {}),
    verifySignature: verifyModuleSignature,
    trustedKeys,
    ...(vermagic ? { vermagic } : {}),
    sources: d.sources,
    missing: d.missing,
  };
}
