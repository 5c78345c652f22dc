/**
 * The target kernel a module is checked against: every piece optional.
 * Pure data plus the derivations the checks share; reading the pieces from
 * the running system or from files is lib/io/target.ts.
 */
import type { CertificateInput, VerifyOptions, VerifyResult } from './signature-verify-base.js';
import type { X509Certificate } from '../module/x509.js';
import type { TrustedKeySet } from './trusted-keys.js';
import type { Compression } from '../compress/detect.js';
import type { TargetArch } from './arch.js';
import { kconfigEnabled, kconfigMentions, type Kconfig } from './kconfig.js';
import type { Symvers } from './symvers.js';
import { compareVersion, expectedVermagic, type ExpectedVermagic } from './vermagic.js';

/** An export of the target (kernel image or a module), as the symbol checks need it. */
export interface TargetExport {
  readonly name: string;
  /** CRC; undefined when the exporter has none (no MODVERSIONS). */
  readonly crc?: number;
  /** undefined when unknown (very old 3-column Module.symvers, modules.symbols only). */
  readonly gplOnly?: boolean;
  readonly namespace?: string;
  /** 'vmlinux' or the exporting module's name (kernel spelling, '_' not '-'). */
  readonly owner: string;
  /** Where we learned it: Module.symvers, a module file of the modules tree, or modules.symbols only. */
  readonly source: 'symvers' | 'module' | 'modules.symbols' | 'companion';
}

/** The target's module tree (/lib/modules/<release>), read lazily by lib/io. */
export interface TargetModules {
  readonly dir: string;
  /** Whether a module of this name exists (modules.dep, modules.builtin, or a file in the tree). */
  has(name: string): boolean;
  /** Whether the module is built into the kernel (modules.builtin). */
  isBuiltin(name: string): boolean;
  /** Exports of modules in the tree that provide this symbol. */
  exportsOf(symbol: string): Promise<TargetExport[]>;
  /** A module shipped for the target: its vermagic and struct module size (for comparison). */
  reference(): Promise<ReferenceModule | null>;
}

export interface ReferenceModule {
  readonly path: string;
  readonly vermagic?: string;
  readonly thisModuleSize?: number;
}

export type Lockdown = 'none' | 'integrity' | 'confidentiality';

export interface TargetKernel {
  readonly origin: 'running' | 'offline';
  readonly release?: string;
  readonly arch?: TargetArch;
  readonly config?: Kconfig;
  readonly symvers?: Symvers;
  readonly modules?: TargetModules;
  /**
   * Whether the kernel can load modules at all (CONFIG_MODULES): false when
   * the running system has no /proc/modules, or the .config says
   * "# CONFIG_MODULES is not set"; undefined when unknown.
   */
  readonly moduleSupport?: boolean;
  /** Names in /sys/module (loaded and built-in modules with parameters); running system only. */
  readonly loadedModules?: ReadonlySet<string>;
  /** module.sig_enforce. */
  readonly sigEnforce?: boolean;
  /** CONFIG_MODULE_SIG (the kernel checks signatures at all). */
  readonly moduleSig?: boolean;
  readonly lockdown?: Lockdown;
  /** Formats the kernel decompresses itself (empty: none); undefined = unknown. */
  readonly inKernelDecompression?: readonly Compression[];
  /** Certificates the target trusts, for cryptographic signature checks. */
  readonly certs?: readonly CertificateInput[];
  /**
   * Cryptographic verification of a signed image against `certs`. Injected by
   * the Node layer (lib/io/target.ts uses node:crypto) so that the checks
   * themselves stay pure; without it, verification is reported as skipped.
   */
  readonly verifySignature?: (image: Uint8Array, certs: (CertificateInput | X509Certificate)[], options?: VerifyOptions) => VerifyResult;
  /**
   * A module's content digests (node:crypto, injected with verifySignature):
   * with it, a module whose signature waits for the target's keys (a kernel
   * image still decoding) keeps only its digests and trailer, and is judged
   * once the keys are there (RSA signatures; lib/check/checks/signature.ts),
   * and one whose verdict cannot turn on its content (no key it names) is
   * judged from its signature trailer alone. Its presence says that
   * verifySignature honours `digests` and `tailStart` (VerifyOptions).
   */
  readonly moduleDigests?: (content: Uint8Array, hashes: readonly string[]) => ReadonlyMap<string, Uint8Array | null>;
  /**
   * The keys the target trusts for module signatures (--trusted-cert, the
   * built-in list of its kernel image, /proc/keys), read on first call
   * (lib/io/trusted-keys.ts); the trust model is lib/check/trust.ts.
   */
  readonly trustedKeys?: () => Promise<TrustedKeySet>;
  /** An exact vermagic for the target (given, or read from one of its modules). */
  readonly vermagic?: { readonly value: string; readonly origin: string };
  /**
   * The plain-data options lib/io's loadTarget() read this target from, so
   * that a worker thread can load the same target again (checkModules()
   * spreads its per-file work over threads only for such a target).
   */
  readonly loadedFrom?: Readonly<Record<string, unknown>>;
  /** Where each piece came from (path or 'option'). */
  readonly sources: Readonly<Record<string, string>>;
  /** Why a piece is missing. */
  readonly missing: Readonly<Record<string, string>>;
}

/** The vermagic the target expects: exact when known, else derived from release + config. */
export function targetVermagic(t: TargetKernel): { exact?: string; origin?: string; expected?: ExpectedVermagic } | null {
  if (t.vermagic) return { exact: t.vermagic.value, origin: t.vermagic.origin };
  if (t.release && t.config) return { expected: expectedVermagic({ release: t.release, config: t.config, ...(t.arch ? { arch: t.arch } : {}) }), origin: 'derived from the kernel release and .config' };
  return null;
}

/** Whether the target kernel has CONFIG_MODVERSIONS; undefined when unknown. */
export function targetModversions(t: TargetKernel): boolean | undefined {
  if (t.config && kconfigMentions(t.config, 'MODVERSIONS')) return kconfigEnabled(t.config, 'MODVERSIONS');
  if (t.vermagic) return t.vermagic.value.split(' ').includes('modversions');
  if (t.config) return false;
  if (t.symvers && t.symvers.count > 0) return t.symvers.hasCrcs;
  return undefined;
}

/** A boolean kernel option from the config; undefined without a config. */
export function targetOption(t: TargetKernel, name: string): boolean | undefined {
  return t.config ? kconfigEnabled(t.config, name) : undefined;
}

/** Release ≥ major.minor; undefined without a parsable release. */
export function targetAtLeast(t: TargetKernel, major: number, minor: number): boolean | undefined {
  if (!t.release) return undefined;
  const c = compareVersion(t.release, major, minor);
  return c === undefined ? undefined : c >= 0;
}

/** In-kernel decompression formats implied by a config (MODULE_DECOMPRESS + the one MODULE_COMPRESS_* choice). */
export function configDecompression(cfg: Kconfig): Compression[] {
  if (!kconfigEnabled(cfg, 'MODULE_DECOMPRESS')) return [];
  if (kconfigEnabled(cfg, 'MODULE_COMPRESS_GZIP')) return ['gzip'];
  if (kconfigEnabled(cfg, 'MODULE_COMPRESS_XZ')) return ['xz'];
  if (kconfigEnabled(cfg, 'MODULE_COMPRESS_ZSTD')) return ['zstd'];
  return [];
}
