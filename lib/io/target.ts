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
import { KmodkitError } from '../errors.js';
import { INPUT_LIMITS, type InputLimit } from '../input-limits.js';
import type { ErrnoName } from '../errno.js';
import { section } from '../elf/file.js';
import { MODULE_FILE_RE, modnameFromPath, modnameNormalize } from '../modindex/names.js';
import { moduleExports } from '../module/exports.js';
import { moduleInfo } from '../module/module.js';
import { modinfoValue } from '../module/modinfo.js';
import { hostArch, parseArch } from '../check/arch.js';
import { parseKconfig, type Kconfig } from '../check/kconfig.js';
import { moduleDigests, moduleSignatureVerifier, verifyModuleSignature, type CertificateInput } from '../check/signature-verify.js';
import { parseSymvers, type Symvers } from '../check/symvers.js';
import type { Lockdown, ReferenceModule, TargetExport, TargetKernel, TargetModules } from '../check/target.js';
import { assembleTarget, type Found, type RunningKernel, type TargetInputNames } from '../check/target-from-files.js';
import { once, type Once } from '../once.js';
import { openModule } from './open.js';
import { openModulesDir } from './modules-dir.js';
import { loadTrustedKeys } from './trusted-keys.js';
import { userCacheDir } from './cache-files.js';
import type { TrustedKeySet } from '../check/trust.js';
import { resolveInRoot } from './in-root.js';
import { pathInRoot, readInput, readInputMaybeCompressed, type ReadInputOptions } from './read-input.js';
import { hasProcModules, kernelLockdown, runningRelease, sigEnforce, sysModuleCompression, sysModuleNames, SYSFS_PATHS } from './sysfs.js';

export { parseLockdown } from './sysfs.js';

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
  /**
   * Keep the certificates found in a kernel image, and what a compressed
   * config or Module.symvers decodes to, in the user's cache
   * (~/.cache/kmodkit/kernel-certs and ~/.cache/kmodkit/decoded, by the
   * file's SHA-256), and take them from there for the same file next time
   * (default true; false: decode every time, write nothing).
   */
  cache?: boolean;
  /** The target's exact vermagic, when known. */
  vermagic?: string;
  /** Prefix for every system path (/proc, /sys, /boot, /lib/modules): tests use a fake root. */
  root?: string;
  /**
   * How the reasons in `missing` name these options (default: the property
   * names, e.g. "no kernel release given (kernelRelease)"). The CLI passes
   * its option names (`--kernel-release` …); null leaves an input out.
   */
  inputNames?: Partial<Record<'kernelRelease' | 'configPath' | 'symversPath' | 'modulesDir' | 'arch' | 'sigEnforce' | 'certs', string | null>>;
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

/** The first of `paths` that is a regular file (a path under `root` resolved inside it). */
function firstExisting(paths: string[], root = ''): string | undefined {
  const top = root.replace(/\/+$/, '');
  for (const p of paths) {
    try {
      if (statSync(top !== '' && p.startsWith(`${top}/`) ? resolveInRoot(root, pathInRoot(root, p)) : p).isFile()) return p;
    } catch {
      /* next */
    }
  }
  return undefined;
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

  // Cached (lib/once.ts) as promises, so that concurrent askers share one read: each module's exports, the symbol index, the reference module.
  const memo: {
    readonly exports: { [name: string]: Once<Promise<TargetExport[]>> };
    index?: Once<Promise<Map<string, string[]>>>;
    reference?: Once<Promise<ReferenceModule | null>>;
  } = { exports: Object.create(null) as { [name: string]: Once<Promise<TargetExport[]>> } };

  const exportsOfModule = (name: string): Promise<TargetExport[]> => once(memo.exports, name, () => readExports(name));
  async function readExports(name: string): Promise<TargetExport[]> {
    const path = files.get(name);
    if (!path) return [];
    try {
      const opened = await openModule(path);
      try {
        return moduleExports(opened.module.elf).map((x) => ({
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
      return []; // an unreadable module exports nothing we can vouch for
    }
  }

  const index = (): Promise<Map<string, string[]>> => once(memo, 'index', buildIndex);
  async function buildIndex(): Promise<Map<string, string[]>> {
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
      return idx;
    }
    // No modules.symbols (depmod never ran): decode every module once.
    for (const name of [...files.keys()].sort()) {
      for (const x of await exportsOfModule(name)) {
        const arr = idx.get(x.name) ?? [];
        arr.push(name);
        idx.set(x.name, arr);
      }
    }
    return idx;
  }

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
    reference: () => once(memo, 'reference', findReference),
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

/** Where every discovery step looks. */
interface Discovery {
  readonly options: TargetOptions;
  readonly running: boolean;
  readonly root: string;
  readonly names: TargetInputNames;
}

/** The kernel release: given, the running kernel's, or the modules directory's name. */
function discoverRelease(d: Discovery): Found<string> | undefined {
  const { options } = d;
  if (options.kernelRelease !== undefined) return { value: options.kernelRelease, source: 'option' };
  if (d.running) return { value: runningRelease(d.root), source: 'running kernel (uname -r)' };
  if (options.modulesDir) return { value: options.modulesDir.replace(/\/+$/, '').split('/').pop()!, source: `name of ${options.modulesDir}` };
  return undefined;
}

/** The modules tree: given, or the running kernel's /lib/modules/RELEASE. */
function discoverModules(d: Discovery, release: string | undefined): { modulesDir?: string; modules?: Found<TargetModules> } {
  let modulesDir = d.options.modulesDir;
  if (modulesDir === undefined && d.running && release) modulesDir = `${d.root}/lib/modules/${release}`;
  if (modulesDir === undefined) return {};
  const r = openTargetModules(modulesDir.replace(/\/+$/, ''), d.root);
  return { modulesDir, modules: r.modules ? { value: r.modules, source: modulesDir } : { missing: r.reason! } };
}

/** The kernel's .config: given, or the first of the places kmod and distributions keep it. */
async function discoverConfig(d: Discovery, release: string | undefined, modulesDir: string | undefined, decodedCache: ReadInputOptions['decodedCache']): Promise<Found<Kconfig> | undefined> {
  const { running, root } = d;
  let configPath = d.options.configPath;
  if (configPath === undefined) {
    const candidates: string[] = [];
    if (running) candidates.push(`${root}/proc/config.gz`, ...(release ? [`${root}/boot/config-${release}`] : []));
    if (modulesDir) candidates.push(`${modulesDir}/build/.config`, `${modulesDir}/config`);
    if (running && release) candidates.push(`${root}/lib/modules/${release}/build/.config`);
    configPath = firstExisting(candidates, root);
    if (!configPath) return candidates.length ? { missing: `no kernel config found (looked at ${candidates.join(', ')})` } : undefined;
  }
  return { value: await readKconfigFile(configPath, { root, decodedCache }), source: configPath };
}

/** Module.symvers: given, beside the modules tree, or where distributions install it. */
async function discoverSymvers(d: Discovery, release: string | undefined, modulesDir: string | undefined, decodedCache: ReadInputOptions['decodedCache']): Promise<Found<Symvers> | undefined> {
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
    if (!symversPath) return candidates.length ? { missing: `no Module.symvers found (looked at ${candidates.join(', ')})` } : undefined;
  }
  return { value: await readSymversFile(symversPath, { root, decodedCache }), source: symversPath };
}

/**
 * What the running kernel shows about module policy, through lib/io/sysfs.ts:
 * loaded modules, signature enforcement, lockdown, in-kernel decompression,
 * module support. The paths name the files read (under `root`).
 */
function discoverRunning(root: string): RunningKernel {
  const path = (p: string): string => `${root}${p}`;
  const loaded = sysModuleNames(root);
  const sig = sigEnforce(root);
  const ld = kernelLockdown(root);
  const comp = sysModuleCompression(root);
  const modules = hasProcModules(root);
  return {
    arch: hostArch(),
    loadedModules: loaded ? { value: loaded, source: path(SYSFS_PATHS.sysModule) } : { missing: `${path(SYSFS_PATHS.sysModule)} is not readable` },
    sigEnforce: sig === undefined ? {} : { value: sig, source: path(SYSFS_PATHS.sigEnforce) },
    lockdown: { ...(ld?.state !== undefined ? { value: ld.state } : {}), ...(ld ? { source: path(SYSFS_PATHS.lockdown) } : {}), missing: `no ${SYSFS_PATHS.lockdown}` },
    inKernelDecompression: comp !== undefined
      ? { ...(comp !== 'unknown' ? { value: [comp] } : {}), source: path(SYSFS_PATHS.compression) }
      : loaded ? { value: [], source: `no ${path(SYSFS_PATHS.compression)}` } : {},
    moduleSupport: { value: modules, source: modules ? path(SYSFS_PATHS.procModules) : `no ${path(SYSFS_PATHS.procModules)}` },
  };
}

/** The names reasons use for loadTarget's inputs: TargetOptions' property names, or the caller's (`inputNames`). */
function inputNamesOf(o: TargetOptions): TargetInputNames {
  const n = o.inputNames ?? {};
  const name = (k: keyof NonNullable<TargetOptions['inputNames']>): string | null => (n[k] === undefined ? k : n[k]!);
  return {
    release: name('kernelRelease'), modules: name('modulesDir'), config: name('configPath'), symvers: name('symversPath'),
    arch: name('arch'), sigEnforce: name('sigEnforce'), certs: name('certs'),
  };
}

/**
 * Build the target description. With `running` (the default when no
 * offline input is given) unspecified pieces come from the running system;
 * otherwise only from the given files (and the modules tree's `build` link).
 * Finding the pieces is here; what they imply, which source wins and why a
 * piece is missing is assembleTarget() (lib/check/target-from-files.ts), the
 * same rules the page's targetFromFiles() uses.
 */
export async function loadTarget(options: TargetOptions = {}): Promise<TargetKernel> {
  const running = options.running ?? !hasOfflineInput(options);
  const d: Discovery = { options, running, root: options.root ?? '', names: inputNamesOf(options) };
  const release = discoverRelease(d);
  const { modulesDir, modules } = discoverModules(d, release?.value);
  // the folder looked up once, for the config and Module.symvers alike
  let decodedDir: { readonly dir: string | undefined } | undefined;
  const decodedCache = options.cache === false ? undefined : () => (decodedDir ??= { dir: userCacheDir('decoded') }).dir;
  // Both read and decode at once (a compressed one decodes on the thread pool while the other parses);
  // the config is awaited first, so its error is the one reported when both are bad.
  const configRead = discoverConfig(d, release?.value, modulesDir, decodedCache);
  const symversRead = discoverSymvers(d, release?.value, modulesDir, decodedCache);
  symversRead.catch(() => undefined);
  const config = await configRead;
  const symvers = await symversRead;
  const arch = options.arch !== undefined ? parseArch(options.arch) : undefined;
  const runningKernel = running ? discoverRunning(d.root) : undefined;
  const certs = options.certs?.length ? await readCerts(options.certs) : undefined;
  // The keys the target trusts (its kernel image's built-in list, /proc/keys): read once, when a signature is judged.
  let trust: Promise<TrustedKeySet> | undefined;
  const rel = release?.value;
  const imageCertsCache = options.cache === false ? undefined : () => userCacheDir('kernel-certs');
  const trustedKeys = (): Promise<TrustedKeySet> =>
    (trust ??= loadTrustedKeys({
      running,
      root: d.root,
      ...(rel !== undefined ? { release: rel } : {}),
      ...(modulesDir !== undefined ? { modulesDir } : {}),
      ...(options.kernelImage !== undefined ? { kernelImage: options.kernelImage } : {}),
      ...(imageCertsCache ? { imageCertsCache } : {}),
    }));

  let vermagic: TargetKernel['vermagic'];
  if (options.vermagic !== undefined) {
    vermagic = { value: options.vermagic, origin: 'option' };
  } else if (modules?.value) {
    const ref = await modules.value.reference();
    if (ref?.vermagic !== undefined) vermagic = { value: ref.vermagic, origin: `vermagic of ${ref.path}` };
  }

  const target = assembleTarget({
    ...(release ? { release } : {}),
    ...(modules ? { modules } : {}),
    ...(config ? { config } : {}),
    ...(symvers ? { symvers } : {}),
    ...(certs ? { certs: { value: certs, source: options.certs!.join(', ') } } : {}),
    verifySignature: moduleSignatureVerifier(),
    trustedKeys,
    ...(arch ? { arch } : {}),
    ...(options.sigEnforce !== undefined ? { sigEnforce: options.sigEnforce } : {}),
    ...(options.lockdown !== undefined ? { lockdown: options.lockdown } : {}),
    ...(vermagic ? { vermagic } : {}),
    ...(runningKernel ? { running: runningKernel } : {}),
    inputNames: d.names,
  });
  return { ...target, moduleDigests, loadedFrom: { ...options } };
}
