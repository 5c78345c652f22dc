/**
 * A target kernel from what is known about it, pure: the one place that
 * decides what each piece implies (the architecture from the .config, the
 * signature policy, in-kernel decompression, module support), which source
 * wins, and why a piece is missing.
 *
 * - targetFromFiles(): from the texts of a .config, a Module.symvers and a
 *   modules.dep (already decompressed), a release and certificates — what the
 *   web page and any caller without a file system have.
 * - assembleTarget(): from pieces already found and parsed, each with where it
 *   came from, plus what the running kernel shows. lib/io/target.ts
 *   (loadTarget) finds them on disk and in /proc and /sys and ends here.
 *
 * A missing piece's reason names the input that would have given it in the
 * caller's words: targetFromFiles' and loadTarget's own property names by
 * default, or `inputNames` (the CLI passes its options, `--config` …).
 */
import { archFromConfig, parseArch, type TargetArch } from './arch.js';
import { kconfigEnabled, kconfigMentions, parseKconfig, type Kconfig } from './kconfig.js';
import type { CertificateInput } from './signature-verify-base.js';
import { parseSymvers, type Symvers } from './symvers.js';
import { configDecompression, type Lockdown, type TargetKernel, type TargetModules } from './target.js';
import type { Compression } from '../compress/detect.js';
import { withFile } from '../errors.js';
import { parseModulesDep } from '../modindex/index-files.js';
import { modnameNormalize } from '../modindex/names.js';

/** The inputs a missing piece's reason can point to. */
export type TargetInput = 'release' | 'modules' | 'config' | 'symvers' | 'arch' | 'sigEnforce' | 'certs';

/** How a caller names each input in reasons; null: the caller has no such input (the reason then names the others). */
export type TargetInputNames = Readonly<Record<TargetInput, string | null>>;

/** What is known of one piece: its value and where it came from, or why it is unknown. */
export interface Found<T> {
  readonly value?: T;
  /** TargetKernel.sources' entry (a path, 'option' …). May be set without a value: a file was read but said nothing usable. */
  readonly source?: string;
  /** TargetKernel.missing's entry when there is no value (default: the standard reason for the piece). */
  readonly missing?: string;
}

/** What the running kernel shows (lib/io/sysfs.ts reads it; lib/io/target.ts fills this in). */
export interface RunningKernel {
  /** The architecture this process runs on. */
  readonly arch: TargetArch;
  /** Names in /sys/module. */
  readonly loadedModules: Found<ReadonlySet<string>>;
  /** module.sig_enforce; no value when the parameter is absent (no CONFIG_MODULE_SIG). */
  readonly sigEnforce: Found<boolean>;
  readonly lockdown: Found<Lockdown>;
  /** /sys/module/compression ([] when it is absent but /sys/module is readable). */
  readonly inKernelDecompression: Found<readonly Compression[]>;
  /** CONFIG_MODULES: whether /proc/modules exists. */
  readonly moduleSupport: Found<boolean>;
}

/** The pieces of a target, found and parsed. Every field is optional. */
export interface TargetParts {
  readonly release?: Found<string>;
  readonly modules?: Found<TargetModules>;
  readonly config?: Found<Kconfig>;
  readonly symvers?: Found<Symvers>;
  readonly certs?: Found<readonly CertificateInput[]>;
  /** Given by the caller; otherwise derived from the .config, else the running system's. */
  readonly arch?: TargetArch;
  /** Given by the caller; otherwise the running system's, else derived from the .config. */
  readonly sigEnforce?: boolean;
  readonly lockdown?: Lockdown;
  readonly vermagic?: TargetKernel['vermagic'];
  /** The signature verifier (lib/check/signature-verify.ts under Node); the target gets it whenever it is given. */
  readonly verifySignature?: TargetKernel['verifySignature'];
  /** The keys the target kernel trusts, read on demand (lib/io/trusted-keys.ts). */
  readonly trustedKeys?: TargetKernel['trustedKeys'];
  /** The running kernel's view; without it the target is 'offline'. */
  readonly running?: RunningKernel;
  /** How the caller names its inputs in reasons. */
  readonly inputNames: TargetInputNames;
}

/** "no kernel release given (kernelRelease)", or without the parenthesis when the caller has no such input. */
function given(what: string, name: string | null): string {
  return name ? `no ${what} given (${name})` : `no ${what} given`;
}

/** "architecture unknown (arch, or a .config)": the caller's input first, then what else would tell. */
function unknown(what: string, name: string | null, otherwise: string): string {
  return `${what} unknown (${name ? `${name}, or ${otherwise}` : otherwise})`;
}

/**
 * The target from its pieces. The order in which pieces are decided fixes the
 * order of `sources` and `missing` (what reports print): release, modules,
 * config, symvers, arch, the running system's policy, the .config's, module
 * support, certificates.
 */
export function assembleTarget(p: TargetParts): TargetKernel {
  const n = p.inputNames;
  const sources: Record<string, string> = {};
  const missing: Record<string, string> = {};
  const running = p.running;
  const piece = <T>(key: string, f: Found<T> | undefined, reason: string): T | undefined => {
    if (f?.source !== undefined) sources[key] = f.source;
    if (f?.value === undefined) missing[key] = f?.missing ?? reason;
    return f?.value;
  };
  const release = piece('release', p.release, given('kernel release', n.release));
  const modules = piece('modules', p.modules, given('modules directory', n.modules));
  const config = piece('config', p.config, given('kernel config', n.config));
  const configSource = p.config?.source;
  const symvers = piece('symvers', p.symvers, given('Module.symvers', n.symvers));

  let arch = p.arch;
  if (arch) sources.arch = 'option';
  else if ((arch = config ? archFromConfig(config) : undefined)) sources.arch = 'kernel config';
  else if (running) {
    arch = running.arch;
    sources.arch = 'running system';
  } else missing.arch = unknown('architecture', n.arch, 'a .config');

  let sigEnforce = p.sigEnforce;
  let lockdown = p.lockdown;
  let loadedModules: ReadonlySet<string> | undefined;
  let moduleSig: boolean | undefined;
  let inKernelDecompression: readonly Compression[] | undefined;
  if (sigEnforce !== undefined) sources.sigEnforce = 'option';
  if (lockdown !== undefined) sources.lockdown = 'option';
  if (running) {
    const r = running;
    loadedModules = r.loadedModules.value;
    if (loadedModules) sources.loadedModules = r.loadedModules.source!;
    else missing.loadedModules = r.loadedModules.missing ?? 'loaded modules unknown';
    if (r.sigEnforce.value !== undefined) {
      moduleSig = true;
      if (sigEnforce === undefined) {
        sigEnforce = r.sigEnforce.value;
        sources.sigEnforce = r.sigEnforce.source!;
      }
    }
    if (lockdown === undefined && r.lockdown.source !== undefined) {
      lockdown = r.lockdown.value;
      sources.lockdown = r.lockdown.source;
    }
    if (r.inKernelDecompression.source !== undefined) {
      inKernelDecompression = r.inKernelDecompression.value;
      sources.inKernelDecompression = r.inKernelDecompression.source;
    }
  }
  if (config) {
    if (moduleSig === undefined) moduleSig = kconfigEnabled(config, 'MODULE_SIG');
    if (sigEnforce === undefined && kconfigMentions(config, 'MODULE_SIG_FORCE')) {
      sigEnforce = kconfigEnabled(config, 'MODULE_SIG_FORCE');
      sources.sigEnforce = `${configSource} (CONFIG_MODULE_SIG_FORCE; module.sig_enforce=1 on the command line is not visible offline)`;
    } else if (sigEnforce === undefined && !moduleSig) {
      sigEnforce = false;
      sources.sigEnforce = `${configSource} (no CONFIG_MODULE_SIG)`;
    }
    if (inKernelDecompression === undefined) {
      inKernelDecompression = configDecompression(config);
      sources.inKernelDecompression = `${configSource}`;
    }
  }
  // CONFIG_MODULES: the running kernel shows /proc/modules exactly when it has it
  let moduleSupport: boolean | undefined;
  if (running) {
    moduleSupport = running.moduleSupport.value;
    sources.moduleSupport = running.moduleSupport.source!;
  } else if (config && kconfigMentions(config, 'MODULES')) {
    moduleSupport = kconfigEnabled(config, 'MODULES');
    sources.moduleSupport = `${configSource} (CONFIG_MODULES)`;
  } else missing.moduleSupport = 'module support unknown (no .config, not the running system)';
  if (sigEnforce === undefined) missing.sigEnforce = unknown('signature enforcement', n.sigEnforce, 'a .config / running system');
  if (lockdown === undefined) missing.lockdown = running ? (running.lockdown.missing ?? 'lockdown state unknown') : 'lockdown state unknown offline';
  if (inKernelDecompression === undefined) missing.inKernelDecompression = 'in-kernel decompression support unknown (no .config, no /sys/module/compression)';

  const certs = piece('certs', p.certs?.value?.length ? p.certs : undefined, given('certificates', n.certs));
  return {
    origin: running ? 'running' : 'offline',
    ...(release !== undefined ? { release } : {}),
    ...(arch ? { arch } : {}),
    ...(config ? { config } : {}),
    ...(symvers ? { symvers } : {}),
    ...(modules ? { modules } : {}),
    ...(moduleSupport !== undefined ? { moduleSupport } : {}),
    ...(loadedModules ? { loadedModules } : {}),
    ...(sigEnforce !== undefined ? { sigEnforce } : {}),
    ...(moduleSig !== undefined ? { moduleSig } : {}),
    ...(lockdown !== undefined ? { lockdown } : {}),
    ...(inKernelDecompression !== undefined ? { inKernelDecompression } : {}),
    ...(certs ? { certs } : {}),
    ...(p.verifySignature ? { verifySignature: p.verifySignature } : {}),
    ...(p.trustedKeys ? { trustedKeys: p.trustedKeys } : {}),
    ...(p.vermagic ? { vermagic: p.vermagic } : {}),
    sources,
    missing,
  };
}

// ---------------------------------------------------------------------------
// From files
// ---------------------------------------------------------------------------

/** A file's text (decompressed) and its name, for `sources` and error messages. */
export interface TargetFile {
  readonly name: string;
  readonly text: string;
}

/** What targetFromFiles takes. A text without a name is named after its property ('config' …). */
export interface TargetFiles {
  /** The kernel release (uname -r). */
  readonly kernelRelease?: string;
  /** uname -m, Node or Debian architecture name; default: from the .config. */
  readonly arch?: string;
  /** The kernel's .config. */
  readonly config?: string | TargetFile;
  /** The kernel build's Module.symvers. */
  readonly symvers?: string | TargetFile;
  /** The target's modules.dep: which modules it has (their exports are not known from it). */
  readonly modulesDep?: string | TargetFile;
  /** Certificates the target trusts (PEM or DER). */
  readonly certs?: readonly { readonly name: string; readonly data: CertificateInput }[];
  readonly sigEnforce?: boolean;
  readonly lockdown?: Lockdown;
  /** The target's exact vermagic, when known. */
  readonly vermagic?: string;
  /** Verifies a signed image against `certs` (e.g. lib/check/signature-verify.ts under Node); without it, verification is reported skipped. */
  readonly verifySignature?: TargetKernel['verifySignature'];
  /** How reasons in `missing` name these properties (default: the property names; null: the caller has no such input). */
  readonly inputNames?: Partial<Record<'kernelRelease' | 'arch' | 'config' | 'symvers' | 'modulesDep' | 'sigEnforce' | 'certs', string | null>>;
}

/** modules.dep as a module tree that knows names only (no exports, no reference module: the files are not here). */
export function modulesFromDep(text: string, name: string): TargetModules {
  const names = new Set(parseModulesDep(text).keys());
  return {
    dir: name,
    has: (m) => names.has(modnameNormalize(m)),
    isBuiltin: () => false,
    exportsOf: async () => [],
    reference: async () => null,
  };
}

function named(f: string | TargetFile, property: string): TargetFile {
  return typeof f === 'string' ? { name: property, text: f } : f;
}

/**
 * A target kernel from file contents, as `kmodkit check --kernel-release R
 * --config F --symvers F` builds one offline. Malformed texts raise
 * KmodkitError 'ETARGET' naming the file; an unknown architecture 'EINPUT'.
 */
export function targetFromFiles(files: TargetFiles): TargetKernel {
  const nm = files.inputNames ?? {};
  const name = (k: keyof NonNullable<TargetFiles['inputNames']>): string | null => (nm[k] === undefined ? k : nm[k]!);
  const config = files.config !== undefined ? named(files.config, 'config') : undefined;
  const symvers = files.symvers !== undefined ? named(files.symvers, 'symvers') : undefined;
  const dep = files.modulesDep !== undefined ? named(files.modulesDep, 'modulesDep') : undefined;
  return assembleTarget({
    ...(files.kernelRelease !== undefined ? { release: { value: files.kernelRelease, source: 'option' } } : {}),
    ...(dep ? { modules: { value: modulesFromDep(dep.text, dep.name), source: dep.name } } : {}),
    ...(config ? { config: { value: withFile(config.name, () => parseKconfig(config.text)), source: config.name } } : {}),
    ...(symvers ? { symvers: { value: withFile(symvers.name, () => parseSymvers(symvers.text)), source: symvers.name } } : {}),
    ...(files.certs?.length ? { certs: { value: files.certs.map((c) => c.data), source: files.certs.map((c) => c.name).join(', ') } } : {}),
    ...(files.arch !== undefined ? { arch: parseArch(files.arch) } : {}),
    ...(files.sigEnforce !== undefined ? { sigEnforce: files.sigEnforce } : {}),
    ...(files.lockdown !== undefined ? { lockdown: files.lockdown } : {}),
    ...(files.vermagic !== undefined ? { vermagic: { value: files.vermagic, origin: 'option' } } : {}),
    ...(files.verifySignature && files.certs?.length ? { verifySignature: files.verifySignature } : {}), // nothing to verify against without certificates
    inputNames: {
      release: name('kernelRelease'),
      modules: name('modulesDep'),
      config: name('config'),
      symvers: name('symvers'),
      arch: name('arch'),
      sigEnforce: name('sigEnforce'),
      certs: name('certs'),
    },
  });
}
